/**
 * Staging the managed install beside the legacy one, while the legacy daemons keep serving:
 * jars, configs carried from the legacy ones, init scripts. Nothing runs from it yet.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import { BrokerArgs, protocolOf, ResolvedKafkaZk } from "./args";
import { kafkaInitScript, log4jProperties, managedPaths, ZOOKEEPER_JAR_CASE, zookeeperInitScript } from "./files";

/**
 * Broker settings the managed server.properties sets itself: the rest is carried as the legacy
 * file has it. `listeners` is the declared listener (plaintext). The protocol and the message
 * format stay the legacy ones, so that a rollback's legacy brokers can still talk to the others
 * and read what the managed ones wrote; `finalize` raises the protocol in its own roll.
 */
export function pinnedBrokerSettings(r: ResolvedKafkaZk, broker: BrokerArgs & { readonly listener: string }): Record<string, string> {
    const legacy = protocolOf(r.legacy.kafkaVersion);
    return { listeners: `PLAINTEXT://${broker.listener}`, "inter.broker.protocol.version": legacy, "log.message.format.version": legacy };
}

/** Fragment: writes `content` to `file` (mode 0644) through a temporary file and a rename. */
export function writeFile(file: string, content: string, mode = "0644"): string {
    return sh`mkdir -p "$(dirname ${file})"
printf '%s' ${content} >${`${file}.mw-tmp`}
chmod ${mode} ${`${file}.mw-tmp`}
mv -f ${`${file}.mw-tmp`} ${file}
`;
}

/** Fragment: copies the jars matching the `case` patterns from the source dir into `dest` (a fresh dir, renamed into place). */
export function copyJars(r: ResolvedKafkaZk, dest: string, pattern: string): string {
    return sh`if [ ! -d ${dest} ]; then
    rm -rf ${`${dest}.mw-tmp`}
    mkdir -p ${`${dest}.mw-tmp`}
    for j in ${r.jars}/*.jar; do
        case $(basename "$j") in ${raw(pattern)}) cp -p "$j" ${`${dest}.mw-tmp/`} ;; esac
    done
    mv ${`${dest}.mw-tmp`} ${dest}
fi
`;
}

/** Fragment: removes `home` and its log dir, then the managed root once nothing else of ours is left in it. */
function removeHome(r: ResolvedKafkaZk, home: string, logDir: string): string {
    const m = managedPaths(r);
    return sh`rm -rf ${home} ${logDir}
rmdir ${`${m.root}/logs`} 2>/dev/null || :
if [ -d ${m.root} ] && [ "$(ls -A ${m.root})" = ${".managed-by-pulumi-middleware"} ]; then
    rm -f ${m.marker}
    rmdir ${m.root}
fi
`;
}

/** Stage the managed ZooKeeper on one node: its jars, zoo.cfg carried from the legacy one, log4j and init script. */
export function stageZookeeper(r: ResolvedKafkaZk): Reversible {
    const m = managedPaths(r);
    const forward = sh`mkdir -p ${m.root}
touch ${m.marker}
${raw(copyJars(r, m.zookeeperLib, ZOOKEEPER_JAR_CASE))}
[ -f ${`${m.zookeeperLib}/zookeeper-${r.zookeeperVersion}.jar`} ] || { echo ${`middleware: ${r.jars} holds no zookeeper-${r.zookeeperVersion}.jar`} >&2; exit 1; }
mkdir -p "$(dirname ${m.zooCfg})"
cp -p ${r.legacy.zookeeperConfig} ${`${m.zooCfg}.mw-tmp`} && mv -f ${`${m.zooCfg}.mw-tmp`} ${m.zooCfg}
${raw(writeFile(m.zookeeperLog4j, log4jProperties()))}${raw(writeFile(m.zookeeperInit, zookeeperInitScript(r), "0755"))}mkdir -p ${m.zookeeperLogDir}
echo ${`middleware: staged ZooKeeper ${r.zookeeperVersion} under ${m.zookeeperHome} (config carried from ${r.legacy.zookeeperConfig})`}
`;
    return { forward, inverse: removeHome(r, m.zookeeperHome, m.zookeeperLogDir) };
}

/**
 * Stage the managed broker on one host: its jars, server.properties carried from the legacy one
 * with the protocol pinned (see {@link pinnedBrokerSettings}), log4j and init script.
 */
export function stageBroker(r: ResolvedKafkaZk, broker: BrokerArgs & { readonly listener: string }): Reversible {
    const m = managedPaths(r);
    const pins = pinnedBrokerSettings(r, broker);
    const dropped = Object.keys(pins).map((k) => k.replace(/\./g, "\\.")).join("|");
    const appended = Object.entries(pins).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
    const forward = sh`mkdir -p ${m.root}
touch ${m.marker}
${raw(copyJars(r, m.kafkaLibs, "*"))}
[ -f ${`${m.kafkaLibs}/kafka_${r.scala}-${r.version}.jar`} ] || { echo ${`middleware: ${r.jars} holds no kafka_${r.scala}-${r.version}.jar`} >&2; exit 1; }
mkdir -p "$(dirname ${m.serverProperties})"
{
    grep -Ev ${`^[[:space:]]*(${dropped})[[:space:]]*[=:]`} ${r.legacy.kafkaConfig} || :
    printf '%s' ${`# set by pulumi-middleware (finalize raises the protocol)\n${appended}`}
} >${`${m.serverProperties}.mw-tmp`}
mv -f ${`${m.serverProperties}.mw-tmp`} ${m.serverProperties}
${raw(writeFile(m.kafkaLog4j, log4jProperties()))}${raw(writeFile(m.kafkaInit, kafkaInitScript(r), "0755"))}mkdir -p ${m.kafkaLogDir}
echo ${`middleware: staged Kafka ${r.version} under ${m.kafkaHome} (config carried from ${r.legacy.kafkaConfig}, ${Object.entries(pins).map(([k, v]) => `${k}=${v}`).join(", ")})`}
`;
    return { forward, inverse: removeHome(r, m.kafkaHome, m.kafkaLogDir) };
}
