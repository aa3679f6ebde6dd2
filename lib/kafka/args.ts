/**
 * Arguments of the Kafka + ZooKeeper topology, their defaults, and validation.
 *
 * @module
 */
import { checkHost, HostArgs } from "../core/host";
import { checkAbsolutePath, checkName, checkPort, checkSeconds, checkServiceName, Problems, Validator } from "../core/validate";

/** One ZooKeeper node: its host and the `myid` its data dir holds. */
export interface ZookeeperNodeArgs {
    readonly host: HostArgs;
    /** The node's `myid` (1-255), as in `<dataDir>/myid` and `server.<myid>=` of zoo.cfg; the pre-check reads and checks it. */
    readonly myid: number;
}

/** One broker: its host and its `broker.id`. */
export interface BrokerArgs {
    readonly host: HostArgs;
    /** The broker's `broker.id`, as in server.properties and the log dir's meta.properties; the pre-check reads and checks both. */
    readonly brokerId: number;
    /**
     * Where the broker listens and clients and the tools of the steps reach it (`host:port`).
     * @default - `<host.address>:9092`
     */
    readonly listener?: string;
}

/** Where the hand-installed (legacy) site keeps things. Defaults are the runbook's paths. */
export interface KafkaLegacyLayout {
    /** @default - `/app/soft/apache-zookeeper-<legacy zookeeperVersion>-bin` */
    readonly zookeeperDir?: string;
    /** @default - `<zookeeperDir>/conf/zoo.cfg` */
    readonly zookeeperConfig?: string;
    /** The ZooKeeper data dir (zoo.cfg `dataDir`), carried as it is. @default - `/app/zookeeper_data` */
    readonly zookeeperDataDir?: string;
    /** @default - `/app/soft/kafka_<scala>-<legacy kafkaVersion>` */
    readonly kafkaDir?: string;
    /** @default - `<kafkaDir>/config/server.properties` */
    readonly kafkaConfig?: string;
    /** The broker's log dir (`log.dirs`), carried as it is, never copied. @default - `/app/kafka_data` */
    readonly kafkaDataDir?: string;
    /** @default - `/etc/init.d/zookeeper` */
    readonly zookeeperInit?: string;
    /** @default - `/etc/init.d/kafka` */
    readonly kafkaInit?: string;
    /** @default - `zookeeper` */
    readonly zookeeperService?: string;
    /** @default - `kafka` */
    readonly kafkaService?: string;
    /** The Kafka version the site runs; the pre-check checks the broker jar against it. @default - `2.3.0` */
    readonly kafkaVersion?: string;
    /** Scala build of the legacy broker jar. @default - `2.12` */
    readonly scala?: string;
    /** The ZooKeeper version the site runs; the pre-check checks `srvr` against it. @default - `3.5.6` */
    readonly zookeeperVersion?: string;
}

/** Where the managed (standard) layout puts things. */
export interface KafkaManagedLayout {
    /** Everything of the managed install lives under this directory. @default - `/app/middleware/kafka` */
    readonly root?: string;
}

/** JVM settings of the managed daemons. */
export interface KafkaJvmArgs {
    /** The `java` the daemons and the steps' tools run on. @default - `/usr/bin/java` */
    readonly java?: string;
    /** @default - `128m` */
    readonly zookeeperHeap?: string;
    /** @default - `256m` */
    readonly kafkaHeap?: string;
}

/** Arguments of {@link KafkaZk}. */
export interface KafkaZkArgs {
    /**
     * The ZooKeeper ensemble, in the order the nodes roll: followers first, the leader last
     * (the pre-check proves the last one leads). The site rule is 3 nodes.
     */
    readonly zookeeper: readonly ZookeeperNodeArgs[];
    /**
     * The brokers, in the order they roll: the active controller last (the pre-check proves it).
     * The same hosts as the ensemble or others; the site rule is 3 brokers.
     */
    readonly brokers: readonly BrokerArgs[];
    /** @default - 2181 */
    readonly zookeeperClientPort?: number;
    /** Version of the managed Kafka, e.g. `3.9.2` (a 3.x release: 4.x has no ZooKeeper mode). */
    readonly version: string;
    /** Scala build of the managed broker jar. @default - `2.13` */
    readonly scala?: string;
    /** Version of the managed ZooKeeper, e.g. `3.8.6`. */
    readonly zookeeperVersion: string;
    /**
     * A directory on every host holding the managed jars (Kafka's with its dependencies, and
     * ZooKeeper's): the stage step copies them into the managed layout and checks the versions.
     */
    readonly jars: string;
    /** @default - the runbook's paths and versions (see {@link KafkaLegacyLayout}) */
    readonly legacy?: KafkaLegacyLayout;
    /** @default - everything under `/app/middleware/kafka` */
    readonly managed?: KafkaManagedLayout;
    /** @default - `/usr/bin/java`, heaps 128m (ZooKeeper) and 256m (Kafka) */
    readonly jvm?: KafkaJvmArgs;
    /**
     * Seconds each health gate of a roll waits before the step fails naming what it waited for:
     * the cluster healthy before a node stops, a restarted ZooKeeper node back in the quorum and
     * synced, a restarted broker registered with no partition under-replicated (10-86400).
     * Read when a step is created: a change applies to the steps created after it.
     * @default - 300 for a ZooKeeper node, 600 for a broker
     */
    readonly waitSeconds?: number;
    /**
     * Accept the migration for good: after the last broker's roll, the brokers'
     * `inter.broker.protocol.version` is raised to the managed version in a second roll, one
     * broker at a time (after which the legacy brokers could no longer read the cluster's data),
     * the `_bak` backups are removed, and every step is protected so that `destroy` cannot roll
     * back. Setting it on a migrated site adds these steps and redoes nothing else.
     * @default - false: the protocol stays pinned to the legacy version and `destroy` rolls back
     */
    readonly finalize?: boolean;
}

/** Every default resolved. */
export interface ResolvedKafkaZk {
    readonly zookeeper: readonly ZookeeperNodeArgs[];
    readonly brokers: readonly (BrokerArgs & { readonly listener: string })[];
    readonly zookeeperClientPort: number;
    readonly version: string;
    readonly scala: string;
    readonly zookeeperVersion: string;
    readonly jars: string;
    readonly legacy: Required<KafkaLegacyLayout>;
    readonly managedRoot: string;
    readonly jvm: Required<KafkaJvmArgs>;
    /** Seconds of each health gate, by kind of node. */
    readonly waitSeconds: { readonly zookeeper: number; readonly broker: number };
    readonly finalize: boolean;
}

/** The defaults, public so that site programs and tests can refer to them. */
export const KAFKA_DEFAULTS = {
    zookeeperClientPort: 2181,
    kafkaPort: 9092,
    scala: "2.13",
    managedRoot: "/app/middleware/kafka",
    jvm: { java: "/usr/bin/java", zookeeperHeap: "128m", kafkaHeap: "256m" },
    /** Seconds of each health gate of a roll. */
    waitSeconds: { zookeeper: 300, broker: 600 },
    legacy: {
        kafkaVersion: "2.3.0",
        scala: "2.12",
        zookeeperVersion: "3.5.6",
        zookeeperDataDir: "/app/zookeeper_data",
        kafkaDataDir: "/app/kafka_data",
        zookeeperInit: "/etc/init.d/zookeeper",
        kafkaInit: "/etc/init.d/kafka",
        zookeeperService: "zookeeper",
        kafkaService: "kafka",
    },
    /** The site rule (PROCEDURES.md 1, pre-check 4): 3 Kafka + 3 ZooKeeper. */
    nodes: 3,
} as const;

const arg = (path: string) => `args.${path}`;
const checkId = (min: number, max: number): Validator => (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? [] : [`must be an integer from ${min} to ${max}`];
const checkHeap: Validator = (v) => (typeof v === "string" && /^[1-9][0-9]{0,5}[mg]$/.test(v) ? [] : ["must be a JVM heap size such as 256m or 1g"]);
const checkScala: Validator = (v) => (typeof v === "string" && /^2\.1[0-9]$/.test(v) ? [] : ["must be a Scala build such as 2.12 or 2.13"]);
const checkListener: Validator = (v) => {
    if (typeof v !== "string") return ["must be a string"];
    const m = /^([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(v);
    return m && checkPort(Number(m[2])).length === 0 ? [] : ["must be host:port, such as 10.0.0.11:9092"];
};
const checkZookeeper3x: Validator = (v) => (typeof v === "string" && /^3\.[5-9]\.[0-9]+$/.test(v) ? [] : ["must be a ZooKeeper 3.5 to 3.9 release such as 3.8.6"]);
const checkKafkaZkMode: Validator = (v) =>
    typeof v === "string" && /^(2\.[1-8]|3\.[0-9])\.[0-9]+$/.test(v) ? [] : ["must be a Kafka release with ZooKeeper mode, 2.1 to 3.9, such as 3.9.2"];

/** Whether release `a` is older than release `b` (both x.y.z). */
function olderThan(a: string, b: string): boolean {
    const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
    return false;
}

/** `major.minor` of a Kafka version: what `inter.broker.protocol.version` takes. */
export function protocolOf(version: string): string {
    return version.split(".").slice(0, 2).join(".");
}

/**
 * Resolves defaults and validates every argument, gathering all problems into one error that
 * names the argument as the user wrote it (`args.brokers[1].brokerId`), the value and the rule.
 *
 * @throws ConfigError before any resource exists
 */
export function resolveKafkaZk(name: string, args: KafkaZkArgs): ResolvedKafkaZk {
    const p = new Problems();
    const zk = Array.isArray(args.zookeeper) ? args.zookeeper : [];
    const brokers = Array.isArray(args.brokers) ? args.brokers : [];
    const D = KAFKA_DEFAULTS;
    if (zk.length !== D.nodes) p.add(arg("zookeeper"), `must list ${D.nodes} ZooKeeper nodes (the site rule: 3 Kafka + 3 ZooKeeper)`, zk.length);
    if (brokers.length !== D.nodes) p.add(arg("brokers"), `must list ${D.nodes} brokers (the site rule: 3 Kafka + 3 ZooKeeper)`, brokers.length);
    const seen = (what: string, values: unknown[], path: (i: number) => string) => {
        values.forEach((v, i) => {
            if (values.indexOf(v) !== i) p.add(path(i), `must be unique among the ${what}`, v);
        });
    };
    zk.forEach((n, i) => {
        checkHost(p, arg(`zookeeper[${i}].host`), n?.host);
        p.check(arg(`zookeeper[${i}].myid`), n?.myid, checkId(1, 255));
    });
    brokers.forEach((b, i) => {
        checkHost(p, arg(`brokers[${i}].host`), b?.host);
        p.check(arg(`brokers[${i}].brokerId`), b?.brokerId, checkId(0, 2147483647)).checkOptional(arg(`brokers[${i}].listener`), b?.listener, checkListener);
    });
    seen("ZooKeeper nodes", zk.map((n) => n?.myid), (i) => arg(`zookeeper[${i}].myid`));
    seen("ZooKeeper nodes", zk.map((n) => n?.host?.name), (i) => arg(`zookeeper[${i}].host.name`));
    seen("brokers", brokers.map((b) => b?.brokerId), (i) => arg(`brokers[${i}].brokerId`));
    seen("brokers", brokers.map((b) => b?.host?.name), (i) => arg(`brokers[${i}].host.name`));
    const port = args.zookeeperClientPort ?? D.zookeeperClientPort;
    p.check(arg("zookeeperClientPort"), port, checkPort)
        .check(arg("version"), args.version, checkKafkaZkMode)
        .check(arg("zookeeperVersion"), args.zookeeperVersion, checkZookeeper3x)
        .check(arg("jars"), args.jars, checkAbsolutePath);
    const scala = args.scala ?? D.scala;
    p.check(arg("scala"), scala, checkScala);
    const lv = { ...D.legacy, ...args.legacy };
    p.check(arg("legacy.kafkaVersion"), lv.kafkaVersion, checkKafkaZkMode)
        .check(arg("legacy.zookeeperVersion"), lv.zookeeperVersion, checkZookeeper3x)
        .check(arg("legacy.scala"), lv.scala, checkScala);
    const zookeeperDir = args.legacy?.zookeeperDir ?? `/app/soft/apache-zookeeper-${lv.zookeeperVersion}-bin`;
    const kafkaDir = args.legacy?.kafkaDir ?? `/app/soft/kafka_${lv.scala}-${lv.kafkaVersion}`;
    const legacy: Required<KafkaLegacyLayout> = {
        ...lv,
        zookeeperDir,
        kafkaDir,
        zookeeperConfig: args.legacy?.zookeeperConfig ?? `${zookeeperDir}/conf/zoo.cfg`,
        kafkaConfig: args.legacy?.kafkaConfig ?? `${kafkaDir}/config/server.properties`,
    };
    for (const [k, v] of Object.entries(legacy)) {
        if (k.endsWith("Version") || k === "scala") continue;
        p.check(arg(`legacy.${k}`), v, k.endsWith("Service") ? checkServiceName : checkAbsolutePath);
    }
    for (const [k, v] of [["zookeeperDataDir", legacy.zookeeperDataDir], ["kafkaDataDir", legacy.kafkaDataDir]] as const) {
        for (const [ik, iv] of [["zookeeperDir", zookeeperDir], ["kafkaDir", kafkaDir]] as const) {
            if (typeof v === "string" && (v === iv || v.startsWith(`${iv}/`))) {
                p.add(arg(`legacy.${k}`), `must lie outside args.legacy.${ik} (${iv}): the install dir is renamed to _bak, the data stays where it is`, v);
            }
        }
    }
    if (checkKafkaZkMode(args.version).length === 0 && checkKafkaZkMode(lv.kafkaVersion).length === 0 && olderThan(args.version, lv.kafkaVersion)) {
        p.add(arg("version"), `must not be older than the legacy Kafka ${lv.kafkaVersion}: the managed brokers pin the protocol to the legacy one`, args.version);
    }
    const managedRoot = args.managed?.root ?? D.managedRoot;
    p.check(arg("managed.root"), managedRoot, checkAbsolutePath);
    if (typeof managedRoot === "string") {
        for (const [k, v] of Object.entries(legacy)) {
            if (typeof v !== "string" || !v.startsWith("/")) continue;
            if (managedRoot === v || managedRoot.startsWith(`${v}/`) || v.startsWith(`${managedRoot}/`) || managedRoot === "/") {
                p.add(arg("managed.root"), `must not overlap args.legacy.${k} (${v}): a rollback removes the managed root, the legacy files must survive`, managedRoot);
            }
        }
    }
    const jvm = { ...D.jvm, ...args.jvm };
    p.check(arg("jvm.java"), jvm.java, checkAbsolutePath).check(arg("jvm.zookeeperHeap"), jvm.zookeeperHeap, checkHeap).check(arg("jvm.kafkaHeap"), jvm.kafkaHeap, checkHeap);
    p.checkOptional(arg("waitSeconds"), args.waitSeconds, checkSeconds(10, 86400));
    p.check("name", name, checkName);
    p.throwIfAny(name);
    return {
        zookeeper: zk,
        brokers: brokers.map((b) => ({ ...b, listener: b.listener ?? `${b.host.address}:${D.kafkaPort}` })),
        zookeeperClientPort: port,
        version: args.version,
        scala,
        zookeeperVersion: args.zookeeperVersion,
        jars: args.jars,
        legacy,
        managedRoot,
        jvm,
        waitSeconds: args.waitSeconds === undefined ? D.waitSeconds : { zookeeper: args.waitSeconds, broker: args.waitSeconds },
        finalize: args.finalize ?? false,
    };
}

/** The ensemble's connect string (`zookeeper.connect`). */
export function zookeeperConnect(r: ResolvedKafkaZk): string {
    return r.zookeeper.map((n) => `${n.host.address}:${r.zookeeperClientPort}`).join(",");
}

/** Every broker's listener, for `--bootstrap-server`. */
export function bootstrap(r: ResolvedKafkaZk): string {
    return r.brokers.map((b) => b.listener).join(",");
}
