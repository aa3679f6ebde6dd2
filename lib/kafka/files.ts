/**
 * The managed layout of the Kafka + ZooKeeper site and the files it consists of. Pure: paths and
 * file contents from the resolved arguments. The configs themselves are carried from the legacy
 * ones on the host (see stage.ts), so every setting the site tuned by hand survives.
 *
 * @module
 */
import { sysvInitScript } from "../core/init-script";
import { sh } from "../core/shell";
import type { ResolvedKafkaZk } from "./args";

/**
 * The jars of a ZooKeeper server among a Kafka jar set: what a ZooKeeper binary distribution's
 * `lib/` holds (the server, its wire format, logging, netty, the shell's commons-cli).
 */
export const ZOOKEEPER_JAR = /^(zookeeper|zookeeper-jute|audience-annotations|netty-[a-z-]+|slf4j-[a-z0-9-]+|reload4j|log4j|commons-cli|commons-io|snappy-java|metrics-core|jline)-[0-9].*\.jar$/;

/** The shell `case` pattern list of {@link ZOOKEEPER_JAR} (kept in step with it by a unit test). */
export const ZOOKEEPER_JAR_CASE = "zookeeper-[0-9]*|zookeeper-jute-[0-9]*|audience-annotations-*|netty-*|slf4j-*|reload4j-*|log4j-*|commons-cli-*|commons-io-*|snappy-java-*|metrics-core-*|jline-*";

/** Marks the managed root as made by this library. */
export const MANAGED_MARKER = ".managed-by-pulumi-middleware";

/** The paths of the managed install on one host. */
export interface KafkaManagedPaths {
    readonly root: string;
    readonly marker: string;
    readonly zookeeperHome: string;
    readonly zookeeperLib: string;
    readonly zooCfg: string;
    readonly zookeeperLog4j: string;
    readonly zookeeperInit: string;
    readonly zookeeperLogDir: string;
    readonly zookeeperPidFile: string;
    readonly kafkaHome: string;
    readonly kafkaLibs: string;
    readonly serverProperties: string;
    readonly kafkaLog4j: string;
    readonly kafkaInit: string;
    readonly kafkaLogDir: string;
    readonly kafkaPidFile: string;
}

/** The managed paths: one home per daemon and version under the root, each with its jars, config and init script. */
export function managedPaths(r: ResolvedKafkaZk): KafkaManagedPaths {
    const root = r.managedRoot;
    const zk = `${root}/zookeeper-${r.zookeeperVersion}`;
    const kafka = `${root}/kafka_${r.scala}-${r.version}`;
    return {
        root,
        marker: `${root}/${MANAGED_MARKER}`,
        zookeeperHome: zk,
        zookeeperLib: `${zk}/lib`,
        zooCfg: `${zk}/conf/zoo.cfg`,
        zookeeperLog4j: `${zk}/conf/log4j.properties`,
        zookeeperInit: `${zk}/bin/zookeeper.init`,
        zookeeperLogDir: `${root}/logs/zookeeper`,
        zookeeperPidFile: "/var/run/middleware-zookeeper.pid",
        kafkaHome: kafka,
        kafkaLibs: `${kafka}/libs`,
        serverProperties: `${kafka}/config/server.properties`,
        kafkaLog4j: `${kafka}/config/log4j.properties`,
        kafkaInit: `${kafka}/bin/kafka.init`,
        kafkaLogDir: `${root}/logs/kafka`,
        kafkaPidFile: "/var/run/middleware-kafka.pid",
    };
}

/** log4j.properties of both managed daemons: to stdout, which the init script appends to a log file. */
export function log4jProperties(): string {
    return [
        "log4j.rootLogger=INFO, stdout",
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
        "log4j.logger.kafka.request.logger=WARN",
        "log4j.logger.state.change.logger=WARN",
        "",
    ].join("\n");
}

function javaStart(java: string, args: readonly string[], out: string, pidFile: string): string {
    return sh`        mkdir -p "$(dirname ${out})"
        setsid nohup ${java} ${args} >>${out} 2>&1 </dev/null &
        echo $! >${pidFile}`;
}

/**
 * The managed ZooKeeper's init script. The server writes no digests into its snapshots and logs
 * (a 3.6+ feature), so that the legacy 3.5 server can read them again on a rollback.
 */
export function zookeeperInitScript(r: ResolvedKafkaZk): string {
    const m = managedPaths(r);
    return sysvInitScript({
        service: r.legacy.zookeeperService,
        description: `Apache ZooKeeper ${r.zookeeperVersion} (managed by pulumi-middleware)`,
        start: javaStart(r.jvm.java, [
            "-Xms64m", `-Xmx${r.jvm.zookeeperHeap}`, "-XX:+UseSerialGC", "-Djava.awt.headless=true", "-Dzookeeper.digest.enabled=false",
            `-Dlog4j.configuration=file:${m.zookeeperLog4j}`, "-cp", `${m.zookeeperLib}/*`,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.zooCfg,
        ], `${m.zookeeperLogDir}/zookeeper.out`, m.zookeeperPidFile),
        pidFile: m.zookeeperPidFile,
        processName: "java",
        stopTimeoutSeconds: 60,
    });
}

/** The managed broker's init script; `stop` (SIGTERM) is a controlled shutdown. */
export function kafkaInitScript(r: ResolvedKafkaZk): string {
    const m = managedPaths(r);
    return sysvInitScript({
        service: r.legacy.kafkaService,
        description: `Apache Kafka ${r.version} (managed by pulumi-middleware)`,
        start: javaStart(r.jvm.java, [
            "-Xms128m", `-Xmx${r.jvm.kafkaHeap}`, "-XX:+UseSerialGC", "-Djava.awt.headless=true", `-Dkafka.logs.dir=${m.kafkaLogDir}`,
            `-Dlog4j.configuration=file:${m.kafkaLog4j}`, "-cp", `${m.kafkaLibs}/*`, "kafka.Kafka", m.serverProperties,
        ], `${m.kafkaLogDir}/server.out`, m.kafkaPidFile),
        pidFile: m.kafkaPidFile,
        processName: "java",
        stopTimeoutSeconds: 180,
    });
}
