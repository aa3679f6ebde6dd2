/**
 * `KafkaZk`: migrates a hand-installed Kafka cluster and its ZooKeeper ensemble to the managed
 * layout one node at a time, so producers and consumers never stop; `destroy` rolls it back the
 * same way.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "../core/host";
import { materialize } from "../core/materialize";
import { describePlan, Plan } from "../core/plan";
import { bootstrap, KafkaZkArgs, resolveKafkaZk, zookeeperConnect } from "./args";
import { planKafkaZk } from "./plan";

/** Type token of {@link KafkaZk}; stable forever. */
export const KAFKA_ZK_TYPE = "middleware:kafka:KafkaZk";

/** A Kafka cluster with its ZooKeeper ensemble, migrated to the managed layout by a rolling restart. */
export class KafkaZk extends pulumi.ComponentResource {
    /** `host:port` of every broker, for clients' `bootstrap.servers`; unchanged by the migration. */
    readonly bootstrapServers: pulumi.Output<string>;
    /** The ensemble's connect string; unchanged by the migration. */
    readonly zookeeperConnect: pulumi.Output<string>;
    /** The managed Kafka version. */
    readonly version: pulumi.Output<string>;
    /** The managed ZooKeeper version. */
    readonly zookeeperVersion: pulumi.Output<string>;
    /** The steps, for the approval report (`describePlan`). */
    readonly plan: Plan;

    /**
     * The plan the component would carry out for `args`, without creating anything: for
     * pre-flight checks and reports.
     *
     * @throws ConfigError naming every invalid argument
     */
    static planOf(name: string, args: KafkaZkArgs): Plan {
        return planKafkaZk(name, resolveKafkaZk(name, args));
    }

    /**
     * @param name - the component's name; prefixes every step (`${name}-${host}-${step}`)
     * @param args - the site; every argument is validated before anything is created
     * @param opts - component options
     */
    constructor(name: string, args: KafkaZkArgs, opts?: pulumi.ComponentResourceOptions) {
        const r = resolveKafkaZk(name, args);
        super(KAFKA_ZK_TYPE, name, {}, opts);
        this.plan = planKafkaZk(name, r);
        const hosts = new Map<string, HostArgs>([...r.zookeeper.map((n) => n.host), ...r.brokers.map((b) => b.host)].map((h) => [h.name, h]));
        materialize(this.plan, hosts, this);
        pulumi.log.info(describePlan(this.plan), this);
        this.bootstrapServers = pulumi.output(bootstrap(r));
        this.zookeeperConnect = pulumi.output(zookeeperConnect(r));
        this.version = pulumi.output(r.version);
        this.zookeeperVersion = pulumi.output(r.zookeeperVersion);
        this.registerOutputs({ bootstrapServers: this.bootstrapServers, zookeeperConnect: this.zookeeperConnect, version: this.version, zookeeperVersion: this.zookeeperVersion });
    }
}
