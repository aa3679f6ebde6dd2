/**
 * The shell helpers every Kafka step starts with: health of the ensemble and the cluster, read
 * through the tools the jars ship (ZooKeeper's `FourLetterWordMain` and `ZooKeeperMain`,
 * Kafka's `TopicCommand`), run on the host with the jars of the install in effect.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import { bootstrap, ResolvedKafkaZk, zookeeperConnect } from "./args";

/** Seconds between two polls of a health gate. */
export const POLL_SECONDS = 1;

/**
 * The preamble. Functions take the jar directory (`lib`) of the install whose tools they run:
 * - `mw_zk_srvr LIB ADDRESS` / `mw_zk_mntr LIB ADDRESS`: a server's `srvr` / `mntr`;
 * - `mw_zk_ensemble_synced LIB`: one leader, every other node a follower, and the leader
 *   counting every follower as synced;
 * - `mw_broker_ids LIB`, `mw_controller LIB`, `mw_cluster_id LIB`: from ZooKeeper;
 * - `mw_partition_health LIB`: `<under-replicated> <offline> <partitions>` of every topic;
 * - `mw_broker_serving LIB ID`: the broker registered and no partition under-replicated or offline;
 * - `mw_wait_until SECONDS WHAT CMD...`: polls CMD until it succeeds, else fails naming WHAT; a
 *   CMD exit code 2 gives up at once;
 * - `mw_alive_and SERVICE CMD...`: exit 2 when the service is not running, else CMD.
 */
export function kafkaPreamble(r: ResolvedKafkaZk): string {
    const ensemble = r.zookeeper.map((n) => n.host.address);
    return sh`MW_JAVA=${r.jvm.java}
MW_ZK_CONNECT=${zookeeperConnect(r)}
MW_ZK_PORT=${r.zookeeperClientPort}
MW_ZK_ENSEMBLE=${ensemble.join(" ")}
MW_BOOTSTRAP=${bootstrap(r)}
mw_note() { printf 'middleware: %s\\n' "$1"; }
mw_tool() {
    mw_lib=$1; shift
    "$MW_JAVA" -Xmx96m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:/dev/null -cp "$mw_lib/*" "$@"
}
mw_zk_srvr() { mw_tool "$1" org.apache.zookeeper.client.FourLetterWordMain "$2" "$MW_ZK_PORT" srvr 2>/dev/null || :; }
mw_zk_mntr() { mw_tool "$1" org.apache.zookeeper.client.FourLetterWordMain "$2" "$MW_ZK_PORT" mntr 2>/dev/null || :; }
mw_field() { printf '%s\\n' "$1" | sed -n "s/^$2[:	] *//p" | head -n 1; }
mw_zk_ensemble_synced() {
    mw_leader=''; mw_followers=0; mw_modes=''
    for mw_a in $MW_ZK_ENSEMBLE; do
        mw_m=$(mw_field "$(mw_zk_srvr "$1" "$mw_a")" Mode)
        mw_modes="$mw_modes $mw_a=\${mw_m:-down}"
        case $mw_m in leader) mw_leader=$mw_a ;; follower) mw_followers=$((mw_followers + 1)) ;; esac
    done
    mw_last_state="modes:$mw_modes"
    [ -n "$mw_leader" ] && [ "$mw_followers" -eq ${String(ensemble.length - 1)} ] || return 1
    mw_synced=$(mw_field "$(mw_zk_mntr "$1" "$mw_leader")" zk_synced_followers)
    mw_last_state="$mw_last_state, synced followers \${mw_synced:-?}"
    [ "\${mw_synced:-0}" -eq ${String(ensemble.length - 1)} ]
}
mw_zk_cli() { mw_tool "$1" org.apache.zookeeper.ZooKeeperMain -server "$MW_ZK_CONNECT" "$2" "$3" 2>/dev/null || :; }
mw_broker_ids() { mw_zk_cli "$1" ls /brokers/ids | grep '^\\[' | tail -n 1 | tr -d '[] '; }
mw_controller() { mw_zk_cli "$1" get /controller | sed -n 's/.*"brokerid":\\([0-9-]*\\).*/\\1/p' | tail -n 1; }
mw_cluster_id() { mw_zk_cli "$1" get /cluster/id | sed -n 's/.*"id":"\\([^"]*\\)".*/\\1/p' | tail -n 1; }
mw_topic_command() {
    mw_class=kafka.admin.TopicCommand
    if ls "$1"/kafka-tools-[0-9]*.jar >/dev/null 2>&1; then mw_class=org.apache.kafka.tools.TopicCommand; fi
    mw_tool "$1" "$mw_class" --bootstrap-server "$MW_BOOTSTRAP" --describe 2>/dev/null
}
mw_partition_health() {
    mw_described=$(mw_topic_command "$1") || { echo 'unknown unknown 0'; return 0; }
    printf '%s\\n' "$mw_described" | awk -F '\\t' '/\\tPartition: / {
        n++; l = ""; rep = ""; isr = ""
        for (k = 1; k <= NF; k++) {
            f = $k; sub(/^ +/, "", f)
            if (f ~ /^Leader: /) l = substr(f, 9); else if (f ~ /^Replicas: /) rep = substr(f, 11); else if (f ~ /^Isr: /) isr = substr(f, 6)
        }
        if (l == "-1" || l == "none" || l == "") off++
        if (split(isr, a, ",") < split(rep, b, ",")) urp++
    } END { printf "%d %d %d\\n", urp, off, n }'
}
mw_partitions_healthy() {
    mw_h=$(mw_partition_health "$1")
    mw_last_state="under-replicated, offline, partitions: $mw_h"
    case $mw_h in "0 0 "[1-9]*) return 0 ;; *) return 1 ;; esac
}
mw_broker_serving() {
    mw_ids=$(mw_broker_ids "$1")
    mw_last_state="registered brokers: \${mw_ids:-none}"
    case ",$mw_ids," in *",$2,"*) ;; *) return 1 ;; esac
    mw_partitions_healthy "$1" || { mw_last_state="registered brokers: $mw_ids; $mw_last_state"; return 1; }
}
mw_wait_until() {
    mw_secs=$1; mw_deadline=$(( $(date +%s) + $1 )); mw_what=$2; shift 2
    mw_last_state=''
    while :; do
        mw_rc=0
        "$@" || mw_rc=$?
        [ "$mw_rc" -ne 0 ] || return 0
        if [ "$mw_rc" -eq 2 ]; then
            printf 'middleware: %s: gave up: %s\n' "$mw_what" "$mw_last_state" >&2
            return 1
        fi
        if [ "$(date +%s)" -ge "$mw_deadline" ]; then
            printf 'middleware: %s: not so after %s s (%s)\n' "$mw_what" "$mw_secs" "$mw_last_state" >&2
            return 1
        fi
        sleep ${raw(String(POLL_SECONDS))}
    done
}
mw_alive_and() {
    if ! service "$1" status >/dev/null 2>&1; then
        mw_last_state="service $1 is not running: it failed to start or died (see its log)"
        return 2
    fi
    shift
    "$@"
}
`;
}
