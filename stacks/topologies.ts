/**
 * The topologies a site config names, each as the site program builds it and as the pre-flight
 * checks and the approval report plan it (without creating anything).
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "../lib/core/host";
import type { Plan } from "../lib/core/plan";
import { FASTDFS_TYPE, FastDfs } from "../lib/fastdfs/component";
import type { FastDfsArgs } from "../lib/fastdfs/args";
import { KAFKA_ZK_TYPE, KafkaZk } from "../lib/kafka/component";
import type { KafkaZkArgs } from "../lib/kafka/args";
import { POSTGRES_HA_TYPE, PostgresHa } from "../lib/postgres/component";
import type { PostgresHaArgs } from "../lib/postgres/args";
import { REDIS_HA_TYPE, RedisHa } from "../lib/redis/component";
import type { RedisHaArgs } from "../lib/redis/args";
import { THREESCALE_RESTORE_TYPE, ThreescaleRestore } from "../lib/threescale/component";
import type { Site } from "./site-config";

/** One topology of a site. */
export interface SiteTopology {
    /** The stack output it is exported as, and the last part of its config key (`middleware:<key>`). */
    readonly key: string;
    /** The component's name. */
    readonly name: string;
    /** The component's type token. */
    readonly type: string;
    /** The hosts its steps run on, by inventory name. */
    readonly hosts: ReadonlyMap<string, HostArgs>;
    /** Its plan, computed without creating anything. */
    plan(): Plan;
    /** Creates the component; returns its plan and the stack outputs it contributes. */
    build(): { readonly plan: Plan; readonly outputs: Record<string, pulumi.Output<unknown>> };
}

/** The topologies of `site`, in the order the site program builds them. */
export function siteTopologies(site: Site): SiteTopology[] {
    const hostsOf = (...names: string[]) => new Map(names.map((n) => [n, site.hosts.get(n)!]));
    const out: SiteTopology[] = [];
    if (site.redis) {
        const r = site.redis;
        const name = r.name ?? "redis";
        const args: RedisHaArgs = {
            master: site.hosts.get(r.master)!,
            slave: site.hosts.get(r.slave)!,
            vip: r.vip,
            port: r.port,
            password: r.password,
            version: r.version,
            source: r.source,
            finalize: r.finalize,
        };
        out.push({
            key: "redis",
            name,
            type: REDIS_HA_TYPE,
            hosts: hostsOf(r.master, r.slave),
            plan: () => RedisHa.planOf(name, args),
            build: () => {
                const pair = new RedisHa(name, args);
                return { plan: pair.plan, outputs: { endpoint: pair.endpoint, master: pair.masterHost, slave: pair.slaveHost, version: pair.version } };
            },
        });
    }
    if (site.postgres) {
        const c = site.postgres;
        const name = c.name ?? "postgres";
        const args: PostgresHaArgs = {
            master: site.hosts.get(c.master)!,
            standby: site.hosts.get(c.standby)!,
            spare: c.spare === undefined ? undefined : site.hosts.get(c.spare)!,
            primary: c.primary,
            version: c.version,
            binDir: c.binDir,
            clientBinDir: c.clientBinDir,
            dataDir: c.dataDir,
            port: c.port,
            vip: c.vip,
            replication: { user: c.replicationUser, password: c.replicationPassword },
            catchUpSeconds: c.catchUpSeconds,
            upgrade: c.upgrade,
        };
        out.push({
            key: "postgres",
            name,
            type: POSTGRES_HA_TYPE,
            hosts: hostsOf(c.master, c.standby, ...(c.spare === undefined ? [] : [c.spare])),
            plan: () => PostgresHa.planOf(name, args),
            build: () => {
                const pair = new PostgresHa(name, args);
                return { plan: pair.plan, outputs: { endpoint: pair.endpoint, primary: pair.primaryHost, standby: pair.standbyHost } };
            },
        });
    }
    if (site.kafka) {
        const k = site.kafka;
        const name = k.name ?? "kafka";
        const args: KafkaZkArgs = {
            zookeeper: k.zookeeper.map((n) => ({ host: site.hosts.get(n.host)!, myid: n.myid })),
            brokers: k.brokers.map((b) => ({ host: site.hosts.get(b.host)!, brokerId: b.brokerId, listener: b.listener })),
            version: k.version,
            scala: k.scala,
            zookeeperVersion: k.zookeeperVersion,
            jars: k.jars,
            legacy: k.legacy,
            managed: k.managedRoot ? { root: k.managedRoot } : undefined,
            jvm: k.jvm,
            waitSeconds: k.waitSeconds,
            finalize: k.finalize,
        };
        out.push({
            key: "kafka",
            name,
            type: KAFKA_ZK_TYPE,
            hosts: hostsOf(...new Set([...k.zookeeper.map((n) => n.host), ...k.brokers.map((b) => b.host)])),
            plan: () => KafkaZk.planOf(name, args),
            build: () => {
                const cluster = new KafkaZk(name, args);
                return { plan: cluster.plan, outputs: { bootstrapServers: cluster.bootstrapServers, zookeeperConnect: cluster.zookeeperConnect, version: cluster.version } };
            },
        });
    }
    if (site.fastdfs) {
        const c = site.fastdfs;
        const name = c.name ?? "fastdfs";
        const host = (h: string) => site.hosts.get(h)!;
        const args: FastDfsArgs = {
            trackers: c.trackers.map((t) => ({ host: host(t.host), added: t.added })),
            storages: c.storages.map((st) => ({ host: host(st.host), group: st.group, id: st.id })),
            vip: c.vip,
            version: c.version,
            home: c.home,
            legacy: c.legacy,
            managed: c.managed,
            ports: c.ports,
            waitSeconds: c.waitSeconds,
        };
        out.push({
            key: "fastdfs",
            name,
            type: FASTDFS_TYPE,
            hosts: hostsOf(...new Set([...c.trackers.map((t) => t.host), ...c.storages.map((st) => st.host)])),
            plan: () => FastDfs.planOf(name, args),
            build: () => {
                const f = new FastDfs(name, args);
                return { plan: f.plan, outputs: { downloadEndpoint: f.downloadEndpoint, trackers: f.trackers, version: f.version } };
            },
        });
    }
    if (site.threescale) {
        const { name: configured, ...args } = site.threescale;
        const name = configured ?? "threescale";
        out.push({
            key: "threescale",
            name,
            type: THREESCALE_RESTORE_TYPE,
            // Its steps run kubectl on the machine running Pulumi, not over SSH.
            hosts: new Map(),
            plan: () => ThreescaleRestore.planOf(name, args),
            build: () => {
                const restore = new ThreescaleRestore(name, args);
                return { plan: restore.plan, outputs: { namespace: pulumi.output(args.namespace ?? "3scale"), steps: pulumi.output(restore.plan.steps.map((s) => s.id)) } };
            },
        });
    }
    return out;
}
