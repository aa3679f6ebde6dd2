/**
 * Pre-checks of the Kafka + ZooKeeper site (PROCEDURES.md 1, pre-checks 2 and 4, and the Kafka
 * section): nothing changes on any host before all of them pass on every host.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { precheckFraming } from "../core/actions/precheck";
import { raw, sh } from "../core/shell";
import type { BrokerArgs, ResolvedKafkaZk, ZookeeperNodeArgs } from "./args";
import { managedPaths } from "./files";
import { kafkaPreamble } from "./kafka-sh";

/** Room needed under the managed root beyond two copies of the jars, in KiB. */
export const FREE_SPACE_HEADROOM_KB = 64 * 1024;

/** Seconds the pre-checks give the ensemble and the cluster to look healthy (a follower syncing, an ISR growing back). */
export const PRECHECK_SETTLE_SECONDS = 60;

/** Fragment: the legacy paths are there, none has a `_bak` beside it, the managed root is ours or absent, there is room. */
function layoutChecks(r: ResolvedKafkaZk, renamed: readonly string[], present: readonly string[]): string {
    const m = managedPaths(r);
    return sh`for p in ${[...renamed, ...present]}; do
    [ -e "$p" ] || mw_problem "legacy path $p is missing"
done
for p in ${renamed}; do
    [ ! -e "$p"_bak ] || mw_problem "$p"'_bak exists already: an earlier migration was not rolled back'
done
if [ -e ${m.root} ] && [ ! -e ${m.marker} ]; then mw_problem ${`${m.root} exists and was not made by this library`}; fi
[ -x ${r.jvm.java} ] || mw_problem ${`java ${r.jvm.java} is missing or not executable`}
for j in ${[`kafka_${r.scala}-${r.version}.jar`, `zookeeper-${r.zookeeperVersion}.jar`]}; do
    [ -f ${r.jars}/"$j" ] || mw_problem ${`the managed jars under ${r.jars} lack `}"$j"
done
mw_jars_kb=$(du -sk ${r.jars} 2>/dev/null | cut -f1) || mw_jars_kb=0
mw_probe=${m.root}
while [ ! -d "$mw_probe" ]; do mw_probe=$(dirname "$mw_probe"); done
mw_free_kb=$(df -Pk "$mw_probe" | awk 'NR == 2 { print $4 }')
mw_need_kb=$((2 * \${mw_jars_kb:-0} + ${raw(String(FREE_SPACE_HEADROOM_KB))}))
[ "$mw_free_kb" -ge "$mw_need_kb" ] || mw_problem "not enough room under ${raw(m.root)}: $mw_free_kb KiB free, $mw_need_kb KiB needed"
`;
}

/** Fragment: the value of `key` in the properties file `file` (last one wins, as Java's Properties). */
function property(file: string, key: string): string {
    return sh`$(sed -n ${`s/^[[:space:]]*${key.replace(/\./g, "\\.")}[[:space:]]*[=:][[:space:]]*//p`} ${file} 2>/dev/null | tail -n 1 | tr -d '\\r')`;
}

/**
 * The pre-check of one ZooKeeper node: legacy layout, `myid` and `dataDir` as declared, the
 * version `srvr` reports, the ensemble healthy (one leader, every follower synced), and the last
 * node of the roll order is the leader.
 */
export function zookeeperPrecheck(r: ResolvedKafkaZk, node: ZookeeperNodeArgs): Reversible {
    const l = r.legacy;
    const last = r.zookeeper[r.zookeeper.length - 1] === node;
    const lib = `${l.zookeeperDir}/lib`;
    const leaderRule = last
        ? sh`[ "$mw_mode" = leader ] || mw_problem ${`this node (myid ${node.myid}) is the last to roll, so it must lead the ensemble; it is `}"\${mw_mode:-down}: list the leader last in zookeeper"`
        : "";
    const body = sh`${raw(layoutChecks(r, [l.zookeeperDir, l.zookeeperInit], [l.zookeeperConfig, l.zookeeperDataDir]))}
mw_myid=$(tr -d ' \\r\\n' <${`${l.zookeeperDataDir}/myid`} 2>/dev/null) || mw_myid=''
[ "$mw_myid" = ${String(node.myid)} ] || mw_problem ${`${l.zookeeperDataDir}/myid holds `}"'\${mw_myid}', not ${raw(String(node.myid))}"
mw_data_dir=${raw(property(l.zookeeperConfig, "dataDir"))}
[ "$mw_data_dir" = ${l.zookeeperDataDir} ] || mw_problem ${`${l.zookeeperConfig} has dataDir=`}"$mw_data_dir, not ${raw(l.zookeeperDataDir)}"
mw_srvr=$(mw_zk_srvr ${lib} ${node.host.address})
mw_mode=$(mw_field "$mw_srvr" Mode)
mw_version=$(mw_field "$mw_srvr" 'Zookeeper version' | sed 's/[-,].*//')
[ -n "$mw_srvr" ] || mw_problem ${`srvr got no answer from ${node.host.address}:${r.zookeeperClientPort} (down, or srvr not in 4lw.commands.whitelist)`}
[ -z "$mw_srvr" ] || [ "$mw_version" = ${l.zookeeperVersion} ] || mw_problem "ZooKeeper reports version $mw_version, not ${raw(l.zookeeperVersion)} (args.legacy.zookeeperVersion)"
${raw(leaderRule)}
mw_wait_until ${PRECHECK_SETTLE_SECONDS} 'the ensemble has one leader and every follower synced' mw_zk_ensemble_synced ${lib} || mw_problem "the ensemble is not healthy: $mw_last_state"
`;
    return { forward: sh`${raw(kafkaPreamble(r))}${raw(precheckFraming(body, `ZooKeeper node (myid ${node.myid})`))}`, inverse: "" };
}

/**
 * The pre-check of one broker: legacy layout, `broker.id` as declared in server.properties and
 * in the log dir's meta.properties, the cluster id ZooKeeper holds, `log.dirs` as declared, the
 * broker jar's version, the broker registered, the controller known (and the last broker of the
 * roll order), no partition under-replicated or offline.
 */
export function brokerPrecheck(r: ResolvedKafkaZk, broker: BrokerArgs): Reversible {
    const l = r.legacy;
    const last = r.brokers[r.brokers.length - 1].brokerId === broker.brokerId;
    const lib = `${l.kafkaDir}/libs`;
    const meta = `${l.kafkaDataDir}/meta.properties`;
    const id = String(broker.brokerId);
    const controllerRule = last
        ? sh`[ "$mw_controller" = ${id} ] || mw_problem "this broker is the last to roll, so it must be the active controller; broker \${mw_controller:-none} is: list the controller last in brokers"`
        : "";
    const body = sh`${raw(layoutChecks(r, [l.kafkaDir, l.kafkaInit], [l.kafkaConfig, l.kafkaDataDir]))}
[ -f ${`${lib}/kafka_${l.scala}-${l.kafkaVersion}.jar`} ] || mw_problem ${`the legacy broker is not Kafka ${l.kafkaVersion}: ${lib}/kafka_${l.scala}-${l.kafkaVersion}.jar is missing (args.legacy.kafkaVersion)`}
mw_conf_id=${raw(property(l.kafkaConfig, "broker.id"))}
[ "$mw_conf_id" = ${id} ] || mw_problem ${`${l.kafkaConfig} has broker.id=`}"$mw_conf_id, not ${raw(id)}"
mw_meta_id=${raw(property(meta, "broker.id"))}
[ "$mw_meta_id" = ${id} ] || mw_problem ${`${meta} has broker.id=`}"$mw_meta_id, not ${raw(id)}"
mw_log_dirs=${raw(property(l.kafkaConfig, "log.dirs"))}
[ "$mw_log_dirs" = ${l.kafkaDataDir} ] || mw_problem ${`${l.kafkaConfig} has log.dirs=`}"$mw_log_dirs, not ${raw(l.kafkaDataDir)} (args.legacy.kafkaDataDir)"
mw_meta_cluster=${raw(property(meta, "cluster.id"))}
mw_zk_cluster=$(mw_cluster_id ${lib})
[ -n "$mw_zk_cluster" ] || mw_problem 'ZooKeeper holds no /cluster/id'
# Brokers before 2.4 write no cluster.id into meta.properties; when there is one it must match.
[ -z "$mw_meta_cluster" ] || [ "$mw_meta_cluster" = "$mw_zk_cluster" ] || mw_problem "the log dir's cluster.id '$mw_meta_cluster' is not the cluster's ('$mw_zk_cluster' in ZooKeeper)"
mw_ids=$(mw_broker_ids ${lib})
case ",$mw_ids," in *,${raw(id)},*) ;; *) mw_problem "broker ${raw(id)} is not registered in ZooKeeper (registered: \${mw_ids:-none})" ;; esac
mw_controller=$(mw_controller ${lib})
[ -n "$mw_controller" ] && [ "$mw_controller" != -1 ] || mw_problem 'no active controller is known to ZooKeeper'
${raw(controllerRule)}
mw_wait_until ${PRECHECK_SETTLE_SECONDS} 'no partition is under-replicated or offline' mw_partitions_healthy ${lib} || mw_problem "partitions are not healthy: $mw_last_state"
echo "middleware: cluster $mw_zk_cluster, brokers $mw_ids, controller $mw_controller"
`;
    return { forward: sh`${raw(kafkaPreamble(r))}${raw(precheckFraming(body, `broker (broker.id ${broker.brokerId})`))}`, inverse: "" };
}
