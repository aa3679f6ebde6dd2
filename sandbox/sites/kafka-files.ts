import { sysvInitScript } from "../../lib/core/init-script";
import { sh } from "../../lib/core/shell";
import { LEGACY_KAFKA_JARS } from "./kafka-jars";

/*
 * The files of the legacy Kafka + ZooKeeper site exactly as the runbook found it: both
 * installed by hand under /app/soft (jars, config), SysV scripts in /etc/init.d, data dirs
 * outside the install dirs. The jars are the runbook's versions from Maven Central (see
 * kafka-jars.ts), laid out as the binary distributions do (`lib/` and `libs/`).
 */

const V = LEGACY_KAFKA_JARS;

/** Where the legacy layout puts things (the runbook's paths). */
export const LEGACY_KAFKA_SITE = {
    zookeeperDir: `/app/soft/apache-zookeeper-${V.zookeeper}-bin`,
    zookeeperLib: `/app/soft/apache-zookeeper-${V.zookeeper}-bin/lib`,
    zookeeperConfig: `/app/soft/apache-zookeeper-${V.zookeeper}-bin/conf/zoo.cfg`,
    zookeeperLog4j: `/app/soft/apache-zookeeper-${V.zookeeper}-bin/conf/log4j.properties`,
    zookeeperInit: "/etc/init.d/zookeeper",
    zookeeperPidFile: "/var/run/zookeeper.pid",
    zookeeperLogDir: "/var/log/zookeeper",
    zookeeperDataDir: "/app/zookeeper_data",
    kafkaDir: `/app/soft/kafka_${V.scala}-${V.kafka}`,
    kafkaLibs: `/app/soft/kafka_${V.scala}-${V.kafka}/libs`,
    kafkaConfig: `/app/soft/kafka_${V.scala}-${V.kafka}/config/server.properties`,
    kafkaLog4j: `/app/soft/kafka_${V.scala}-${V.kafka}/config/log4j.properties`,
    kafkaInit: "/etc/init.d/kafka",
    kafkaPidFile: "/var/run/kafka.pid",
    kafkaLogDir: "/var/log/kafka",
    kafkaDataDir: "/app/kafka_data",
    java: "/usr/bin/java",
    clientPort: 2181,
    peerPort: 2888,
    electionPort: 3888,
    kafkaPort: 9092,
} as const;

/** The jars of a ZooKeeper server among a Kafka jar set (the library's pattern, so both installs agree). */
export { ZOOKEEPER_JAR } from "../../lib/kafka/files";

/** One host of the site: its ZooKeeper `myid` and `broker.id` (both the host's number). */
export interface KafkaHostConfig {
    readonly host: string;
    readonly id: number;
    readonly address: string;
    /** Every ZooKeeper host's address, by myid. */
    readonly ensemble: readonly { readonly id: number; readonly address: string }[];
}

/** conf/zoo.cfg of the ensemble (the same on every host). */
export function renderZooCfg(c: KafkaHostConfig): string {
    const L = LEGACY_KAFKA_SITE;
    return [
        "# ZooKeeper ensemble, installed by hand",
        "tickTime=2000",
        "initLimit=10",
        "syncLimit=5",
        `dataDir=${L.zookeeperDataDir}`,
        `clientPort=${L.clientPort}`,
        "maxClientCnxns=60",
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr,mntr,ruok,stat",
        ...c.ensemble.map((m) => `server.${m.id}=${m.address}:${L.peerPort}:${L.electionPort}`),
        "",
    ].join("\n");
}

/** config/server.properties of one broker. */
export function renderServerProperties(c: KafkaHostConfig): string {
    const L = LEGACY_KAFKA_SITE;
    return [
        "# Kafka broker, installed by hand",
        `broker.id=${c.id}`,
        `listeners=PLAINTEXT://${c.address}:${L.kafkaPort}`,
        `log.dirs=${L.kafkaDataDir}`,
        `zookeeper.connect=${c.ensemble.map((m) => `${m.address}:${L.clientPort}`).join(",")}`,
        "zookeeper.session.timeout.ms=18000",
        "num.network.threads=2",
        "num.io.threads=2",
        "background.threads=2",
        "num.partitions=3",
        "default.replication.factor=3",
        "min.insync.replicas=2",
        "offsets.topic.replication.factor=3",
        "offsets.topic.num.partitions=6",
        "transaction.state.log.replication.factor=3",
        "transaction.state.log.min.isr=2",
        "unclean.leader.election.enable=false",
        "auto.create.topics.enable=false",
        "group.initial.rebalance.delay.ms=0",
        "log.retention.hours=168",
        "",
    ].join("\n");
}

/** log4j.properties of both legacy daemons: the managed layout's (everything to stdout, which the init script sends to a log file). */
export { log4jProperties as renderLog4j } from "../../lib/kafka/files";

/** Start line of a JVM daemon in its own session, its pid in `pidFile`, its output appended to `out`. */
function javaStart(args: readonly string[], out: string, pidFile: string): string {
    return sh`        mkdir -p "$(dirname ${out})"
        setsid nohup ${LEGACY_KAFKA_SITE.java} ${args} >>${out} 2>&1 </dev/null &
        echo $! >${pidFile}`;
}

/** /etc/init.d/zookeeper. */
export function renderZookeeperInit(): string {
    const L = LEGACY_KAFKA_SITE;
    return sysvInitScript({
        service: "zookeeper",
        description: `Apache ZooKeeper ${V.zookeeper} (installed by hand)`,
        start: javaStart(
            ["-Xms64m", "-Xmx128m", "-XX:+UseSerialGC", "-Djava.awt.headless=true", `-Dlog4j.configuration=file:${L.zookeeperLog4j}`,
                "-cp", `${L.zookeeperLib}/*`, "org.apache.zookeeper.server.quorum.QuorumPeerMain", L.zookeeperConfig],
            `${L.zookeeperLogDir}/zookeeper.out`, L.zookeeperPidFile),
        pidFile: L.zookeeperPidFile,
        processName: "java",
        stopTimeoutSeconds: 60,
    });
}

/** /etc/init.d/kafka. */
export function renderKafkaInit(): string {
    const L = LEGACY_KAFKA_SITE;
    return sysvInitScript({
        service: "kafka",
        description: `Apache Kafka ${V.kafka} (installed by hand)`,
        start: javaStart(
            ["-Xms192m", "-Xmx256m", "-XX:+UseSerialGC", "-Djava.awt.headless=true", `-Dkafka.logs.dir=${L.kafkaLogDir}`,
                `-Dlog4j.configuration=file:${L.kafkaLog4j}`, "-cp", `${L.kafkaLibs}/*`, "kafka.Kafka", L.kafkaConfig],
            `${L.kafkaLogDir}/server.out`, L.kafkaPidFile),
        pidFile: L.kafkaPidFile,
        processName: "java",
        stopTimeoutSeconds: 120,
    });
}
