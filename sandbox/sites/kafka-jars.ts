import { SandboxSettings } from "../config";

/** The runbook's Kafka and ZooKeeper install dirs (labels of the versions it found). */
export const LEGACY_KAFKA = {
    zookeeperDir: "/app/soft/apache-zookeeper-3.5.6-bin",
    kafkaDir: "/app/soft/kafka_2.12-2.3.0",
    zookeeperInit: "/etc/init.d/zookeeper",
    kafkaInit: "/etc/init.d/kafka",
} as const;

/**
 * TODO(kafka site): install Kafka 2.3.0 (Scala 2.12) and ZooKeeper 3.5.6 for a `legacy-kafka`
 * site. Neither is a Debian package; both are on Maven Central as jars
 * (`org.apache.kafka:kafka_2.12:2.3.0`, `org.apache.zookeeper:zookeeper:3.5.6`). Plan: resolve
 * their runtime dependency closure with Debian's `maven` (`dependency:copy-dependencies` from a
 * generated pom) into a cache beside the state dir, lay the jars out as `libs/` under the two
 * install dirs above, write small `bin/` launchers (`java -cp 'libs/*' kafka.Kafka ...`,
 * `org.apache.zookeeper.server.quorum.QuorumPeerMain`) and SysV scripts in /etc/init.d,
 * with Debian's `default-jre-headless` as the JVM. Not needed for the Redis issue.
 */
export async function installKafkaAndZookeeperJars(_s: SandboxSettings, _hosts: readonly string[]): Promise<never> {
    throw new Error("the Kafka/ZooKeeper site is not built yet (see installKafkaAndZookeeperJars in sandbox/sites/kafka-jars.ts)");
}
