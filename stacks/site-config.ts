/**
 * The site config a stack is built from (`stacks/Pulumi.<site>.yaml`), read and validated with
 * errors that name the config key, the value and the rule.
 *
 * @module
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "../lib/core/host";
import { Problems } from "../lib/core/validate";
import type { RedisInstallSource, RedisVipArgs } from "../lib/redis/args";
import type { PostgresUpgradeArgs, PostgresVipArgs } from "../lib/postgres/args";
import type { KafkaJvmArgs, KafkaLegacyLayout } from "../lib/kafka/args";
import type { FastDfsLegacyLayout, FastDfsManagedLayout, FastDfsPorts, FastDfsVipArgs } from "../lib/fastdfs/args";
import type { ThreescaleRestoreArgs } from "../lib/threescale/args";
import type { Inventory } from "../sandbox/inventory";
import { checkSiteRules, PRODUCTS } from "./site-rules";

/** One host as written in `middleware:hosts`. */
export interface HostConfig {
    readonly name: string;
    readonly address: string;
    readonly port?: number;
    readonly user?: string;
    readonly hostKey: string;
    /** A file holding the private key; else `middleware:sshPrivateKey` is used. */
    readonly privateKeyFile?: string;
}

/** The Redis pair as written in `middleware:redis`. */
export interface RedisConfig {
    /** @default - `redis` */
    readonly name?: string;
    /**
     * The instance's name when the site names its instances (`middleware:site`); it must follow
     * the site's pattern. @default - the pattern with this product, e.g. `acme-billing-Redis-A`
     */
    readonly instanceName?: string;

    readonly master: string;
    readonly slave: string;
    /** The version of the managed install; changing it upgrades (or downgrades) the pair, slave first. */
    readonly version: string;
    /** Where each host takes that version's binaries. @default - Debian's, under /usr/bin */
    readonly source?: RedisInstallSource;
    readonly port?: number;
    readonly vip: RedisVipArgs;
    readonly finalize?: boolean;
    /**
     * A file on the machine running Pulumi that holds the password (the sandbox's). Sites set
     * `middleware:redisPassword` with `pulumi config set --secret` instead.
     */
    readonly passwordFile?: string;
}

/** The PostgreSQL pair as written in `middleware:postgres`. */
export interface PostgresConfig {
    /** @default - `postgres` */
    readonly name?: string;
    /**
     * The instance's name when the site names its instances (`middleware:site`); it must follow
     * the site's pattern. @default - the pattern with this product, e.g. `acme-billing-Redis-A`
     */
    readonly instanceName?: string;

    /** The host whose cluster holds the data (the runbook's PG_MASTER). */
    readonly master: string;
    /** The host the standby is built on (PG_STANDBY). */
    readonly standby: string;
    /** A third host kept on `version` as the way back of a major upgrade (see PostgresHaArgs.spare). @default - none */
    readonly spare?: string;
    /** The host serving writes; the standby's name is a switchover. @default - the master */
    readonly primary?: string;
    /** Major version, e.g. "15". */
    readonly version: string;
    readonly binDir?: string;
    /** psql, pg_basebackup, pg_rewind of the same major, for a server-only build. @default - binDir */
    readonly clientBinDir?: string;
    readonly dataDir?: string;
    readonly port?: number;
    readonly vip: PostgresVipArgs;
    /** The replication account's name. @default - `replicator` */
    readonly replicationUser?: string;
    readonly catchUpSeconds?: number;
    /** A major upgrade with pg_upgrade, the standby kept on `version` as the way back (see PostgresHaArgs.upgrade). */
    readonly upgrade?: PostgresUpgradeArgs;
}

/** The Kafka cluster and its ZooKeeper ensemble as written in `middleware:kafka`. */
export interface KafkaConfig {
    /** @default - `kafka` */
    readonly name?: string;
    /** The ZooKeeper nodes in roll order (the leader last): host names of the site and their myid. */
    readonly zookeeper: readonly { readonly host: string; readonly myid: number }[];
    /** The brokers in roll order (the controller last): host names, broker.id, optional listener `host:port`. */
    readonly brokers: readonly { readonly host: string; readonly brokerId: number; readonly listener?: string }[];
    readonly version: string;
    readonly scala?: string;
    readonly zookeeperVersion: string;
    /** The managed jars' directory on every host. */
    readonly jars: string;
    readonly legacy?: KafkaLegacyLayout;
    readonly managedRoot?: string;
    readonly jvm?: KafkaJvmArgs;
    /** Seconds of each health gate of a roll (see `KafkaZkArgs.waitSeconds`). */
    readonly waitSeconds?: number;
    readonly finalize?: boolean;
}

/** The FastDFS site as written in `middleware:fastdfs`; hosts by name. */
export interface FastDfsConfig {
    /** @default - `fastdfs` */
    readonly name?: string;
    /** Three trackers; `added: true` on the host that gets the third. */
    readonly trackers: readonly { readonly host: string; readonly added?: boolean }[];
    /** The legacy storages (each with nginx), migrated one at a time in this order. */
    readonly storages: readonly { readonly host: string; readonly group: string; readonly id: string }[];
    readonly version: string;
    readonly home?: string;
    readonly vip: FastDfsVipArgs;
    readonly legacy?: FastDfsLegacyLayout;
    readonly managed?: FastDfsManagedLayout;
    readonly ports?: FastDfsPorts;
    readonly waitSeconds?: number;
}

/**
 * The 3scale restore as written in `middleware:threescale`: the arguments of
 * `ThreescaleRestore` (paths on the machine running Pulumi), plus the component's name.
 */
export type ThreescaleConfig = ThreescaleRestoreArgs & {
    /** @default - `threescale` */
    readonly name?: string;
};

/** The site: its hosts by name and the topologies it runs. */
export interface Site {
    readonly hosts: ReadonlyMap<string, HostArgs>;
    readonly redis?: RedisConfig & { readonly password: pulumi.Output<string> };
    /** The password is `middleware:postgresReplicationPassword` (secret) when set, else generated. */
    readonly postgres?: PostgresConfig & { readonly replicationPassword?: pulumi.Output<string> };
    /** Each topology's instance name by its key (`redis`), when the site names its instances (`middleware:site`). */
    readonly instanceNames: ReadonlyMap<string, string>;
    readonly kafka?: KafkaConfig;
    readonly fastdfs?: FastDfsConfig;
    /** Runs on the machine running Pulumi against its cluster: needs no SSH host. */
    readonly threescale?: ThreescaleConfig;
}

function readHosts(config: pulumi.Config, p: Problems, needed: boolean): HostConfig[] {
    const inventoryFile = config.get("inventoryFile");
    if (inventoryFile) {
        if (!fs.existsSync(inventoryFile)) {
            p.add("middleware:inventoryFile", "must name an existing inventory file (npm run sandbox -- inventory)", inventoryFile);
            return [];
        }
        const inventory = JSON.parse(fs.readFileSync(inventoryFile, "utf8")) as Inventory;
        return inventory.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostPublicKey, privateKeyFile: h.privateKeyPath }));
    }
    const hosts = config.getObject<HostConfig[]>("hosts");
    if (needed && (!Array.isArray(hosts) || hosts.length === 0)) p.add("middleware:hosts", "must list the site's hosts (or set middleware:inventoryFile)", hosts);
    return hosts ?? [];
}

/** A topology's config object, or undefined when the site does not run it: the key is absent, null or `{}`. */
export function topologyConfig<T extends object>(config: pulumi.Config, key: string): T | undefined {
    const value = config.getObject<T>(key);
    return value === undefined || value === null || (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) ? undefined : value;
}

/**
 * Reads the site from the stack's config.
 *
 * @param stackName - named in the error; @default - the stack the program runs for
 */
export function readSite(config = new pulumi.Config("middleware"), stackName?: string): Site {
    const p = new Problems();
    const sharedKey = config.getSecret("sshPrivateKey");
    const hosts = new Map<string, HostArgs>();
    const threescale = topologyConfig<ThreescaleConfig>(config, "threescale");
    // A site that only restores 3scale drives its cluster with kubectl from this machine: no SSH host.
    const sshTopologies = Object.keys(PRODUCTS).some((k) => topologyConfig(config, k) !== undefined);
    readHosts(config, p, sshTopologies || !threescale).forEach((h, i) => {
        let privateKey: pulumi.Input<string> | undefined = sharedKey;
        if (h.privateKeyFile) {
            if (fs.existsSync(h.privateKeyFile)) privateKey = pulumi.secret(fs.readFileSync(h.privateKeyFile, "utf8"));
            else p.add(`middleware:hosts[${i}].privateKeyFile`, "must name a readable key file", h.privateKeyFile);
        }
        if (!privateKey) p.add(`middleware:hosts[${i}]`, "needs a privateKeyFile, or set middleware:sshPrivateKey (--secret)", h.name);
        if (hosts.has(h.name)) p.add(`middleware:hosts[${i}].name`, "must be unique", h.name);
        hosts.set(h.name, { name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey, privateKey: privateKey ?? "" });
    });
    const redis = topologyConfig<RedisConfig>(config, "redis");
    let password: pulumi.Output<string> | undefined;
    if (redis) {
        for (const role of ["master", "slave"] as const) {
            if (!hosts.has(redis[role])) p.add(`middleware:redis.${role}`, `must name a host of the site (${[...hosts.keys()].join(", ")})`, redis[role]);
        }
        password = config.getSecret("redisPassword");
        if (!password && redis.passwordFile) {
            if (fs.existsSync(redis.passwordFile)) password = pulumi.secret(fs.readFileSync(redis.passwordFile, "utf8").trim());
            else p.add("middleware:redis.passwordFile", "must name a readable file", redis.passwordFile);
        }
        if (!password) p.add("middleware:redisPassword", "is required: pulumi config set --secret middleware:redisPassword ...", undefined);
    }
    const postgres = topologyConfig<PostgresConfig>(config, "postgres");
    if (postgres) {
        for (const role of ["master", "standby"] as const) {
            if (!hosts.has(postgres[role])) p.add(`middleware:postgres.${role}`, `must name a host of the site (${[...hosts.keys()].join(", ")})`, postgres[role]);
        }
        if (postgres.spare !== undefined && !hosts.has(postgres.spare)) {
            p.add("middleware:postgres.spare", `must name a host of the site (${[...hosts.keys()].join(", ")})`, postgres.spare);
        }
    }
    const kafka = topologyConfig<KafkaConfig>(config, "kafka");
    if (kafka) {
        const known = [...hosts.keys()].join(", ");
        (kafka.zookeeper ?? []).forEach((n, i) => {
            if (!hosts.has(n?.host)) p.add(`middleware:kafka.zookeeper[${i}].host`, `must name a host of the site (${known})`, n?.host);
        });
        (kafka.brokers ?? []).forEach((b, i) => {
            if (!hosts.has(b?.host)) p.add(`middleware:kafka.brokers[${i}].host`, `must name a host of the site (${known})`, b?.host);
        });
    }
    const fastdfs = topologyConfig<FastDfsConfig>(config, "fastdfs");
    if (fastdfs) {
        const known = (h: unknown) => typeof h === "string" && hosts.has(h);
        (Array.isArray(fastdfs.trackers) ? fastdfs.trackers : []).forEach((t, i) => {
            if (!known(t?.host)) p.add(`middleware:fastdfs.trackers[${i}].host`, `must name a host of the site (${[...hosts.keys()].join(", ")})`, t?.host);
        });
        (Array.isArray(fastdfs.storages) ? fastdfs.storages : []).forEach((s, i) => {
            if (!known(s?.host)) p.add(`middleware:fastdfs.storages[${i}].host`, `must name a host of the site (${[...hosts.keys()].join(", ")})`, s?.host);
        });
    }
    const instanceNames = checkSiteRules(Object.fromEntries(Object.keys(PRODUCTS).map((k) => [k, topologyConfig(config, k)])), topologyConfig(config, "site"), p);
    p.throwIfAny(`stack ${stackName ?? pulumi.getStack()}`);
    // Optional secrets: the components generate them (random.RandomPassword) when the site does not choose them.
    const vrrpPassword = config.getSecret("redisVrrpPassword");
    const replicationPassword = config.getSecret("postgresReplicationPassword");
    return {
        hosts,
        instanceNames,
        redis: redis && password ? { ...redis, password, vip: { ...redis.vip, password: vrrpPassword } } : undefined,
        postgres: postgres ? { ...postgres, replicationPassword } : undefined,
        kafka: kafka ?? undefined,
        fastdfs,
        threescale,
    };
}
