/**
 * Shell functions every FastDFS step shares: the FastDFS clients with their libraries, the
 * cluster's view from each tracker (storage states, sync delays, the leader), the local
 * storage's sync marks, guarded renames to `_bak`, and files written only when they differ.
 *
 * @module
 */
import { backupPath } from "../core/actions/backup-path";
import { raw, sh } from "../core/shell";
import type { ResolvedFastDfs } from "./args";
import { renderClientConf, renderStorageIds } from "./files";

/**
 * The sync lag (seconds) under which a storage counts as in sync: the trackers see lags only
 * through the storages' stat reports (every 5 s in the configs the library writes), so a storage
 * taking uploads all the time shows a few seconds.
 */
export const SYNC_LAG_SECONDS = 10;

/** `address:port` of every tracker, legacy ones first. */
export function trackerEndpoints(r: ResolvedFastDfs, which: "all" | "legacy" = "all"): string[] {
    return r.trackers.filter((t) => which === "all" || !t.added).map((t) => `${t.host.address}:${r.ports.tracker}`);
}

/** storage_ids.conf of the site: every storage keeps its id. */
export function storageIds(r: ResolvedFastDfs): string {
    return renderStorageIds(r.storages.map((s) => ({ id: s.id, group: s.group, address: s.host.address })));
}

/**
 * Preamble of every FastDFS step. Defines `mw_mark`, `mw_die`, `mw_wait SECONDS WHAT CMD...`,
 * `mw_fdfs PROGRAM ARGS...` (a FastDFS program with its libraries), `mw_state TRACKER ADDR`
 * (a storage's state as TRACKER sees it), `mw_active_everywhere ADDR`, `mw_synced_everywhere ADDR`,
 * `mw_leaders CONF` (how many trackers of CONF say they lead), `mw_tracker_answers ADDR:PORT`, `mw_one_leader`,
 * `mw_port_busy PORT`, `mw_serves URL`, `mw_put FILE MODE TEXT`,
 * `mw_svc SERVICE start|stop|status`; writes `$mw_client` (every tracker) and
 * `$mw_legacy_client` (the legacy trackers) under the state dir.
 */
export function fastdfsPreamble(r: ResolvedFastDfs): string {
    const dir = "$MW_STATE_DIR/fastdfs/$MW_COMPONENT";
    const client = (trackers: string[]) => renderClientConf({ basePath: "@DIR@", trackers, storageIdsFile: "@DIR@/storage_ids.conf" });
    return sh`LC_ALL=C
export LC_ALL
cd /
mw_t0=$(date +%s%N)
mw_mark() { echo "middleware: $(( ($(date +%s%N) - mw_t0) / 1000000 )) ms: $*"; }
mw_die() { printf 'middleware: %s\\n' "$*" >&2; exit 1; }
# The limit is the clock's, not a count of tries: a try against an unreachable tracker takes seconds.
mw_wait() {
    mw_w_s=$1; mw_w_what=$2; shift 2; mw_w_end=$(( $(date +%s) + mw_w_s ))
    until "$@"; do
        [ "$(date +%s)" -lt "$mw_w_end" ] || { printf 'middleware: %s: not within %s s\\n' "$mw_w_what" "$mw_w_s" >&2; return 1; }
        sleep 0.25
    done
}
mw_home=${r.home}
[ -x "$mw_home/bin/fdfs_monitor" ] || mw_die "no FastDFS programs in $mw_home/bin (args.home)"
mw_fdfs() { mw_p=$1; shift; LD_LIBRARY_PATH="$mw_home/lib" "$mw_home/bin/$mw_p" "$@"; }
mw_dir="${raw(dir)}"
mkdir -p "$mw_dir"
printf '%s' ${storageIds(r)} >"$mw_dir/storage_ids.conf"
mw_client="$mw_dir/client.conf"
mw_legacy_client="$mw_dir/legacy-client.conf"
printf '%s' ${client(trackerEndpoints(r))} | sed "s|@DIR@|$mw_dir|g" >"$mw_client"
printf '%s' ${client(trackerEndpoints(r, "legacy"))} | sed "s|@DIR@|$mw_dir|g" >"$mw_legacy_client"
mw_trackers=${trackerEndpoints(r).join(" ")}
mw_storage_port=${r.ports.storage}
# One client config per tracker: with several, fdfs_monitor -h T asks another tracker when T does
# not answer, and a check of what T sees would pass on another tracker's view.
for mw_t in $mw_trackers; do
    printf '%s' ${client(["@TRACKER@"])} | sed "s|@DIR@|$mw_dir|g; s|@TRACKER@|$mw_t|" >"$mw_dir/tracker-$mw_t.conf"
done
mw_ask() { mw_a_t=$1; shift; mw_fdfs fdfs_monitor "$mw_dir/tracker-$mw_a_t.conf" -h "$mw_a_t" "$@"; }
mw_state() {
    mw_ask "$1" 2>/dev/null | awk -v h="$2:$mw_storage_port" '$1 == "host" && $3 == h { print $4; exit }'
}
mw_lag_of() { printf '%s' "$1" | sed -n 's/.*(\\([0-9]*\\) seconds* delay).*/\\1/p'; }
mw_synced() {
    mw_line=$(mw_ask "$1" 2>/dev/null | awk -v h="$2:$mw_storage_port" '$1 == "host" { cur = ($3 == h) } cur && $1 == "last_synced_timestamp" { print; exit }')
    [ -n "$mw_line" ] || return 1
    if printf '%s' "$mw_line" | grep -Eq 'never|day|hour|minute'; then return 1; fi
    if printf '%s' "$mw_line" | grep -q ' delay)'; then
        mw_lag=$(mw_lag_of "$mw_line")
        [ -n "$mw_lag" ] && [ "$mw_lag" -le ${String(SYNC_LAG_SECONDS)} ]
    fi
}
mw_active_everywhere() {
    for mw_t in $mw_trackers; do [ "$(mw_state "$mw_t" "$1")" = ACTIVE ] || return 1; done
}
mw_synced_everywhere() {
    for mw_t in $mw_trackers; do mw_synced "$mw_t" "$1" || return 1; done
}
mw_tracker_answers() { mw_ask "$1" 2>/dev/null | grep -q '^group count'; }
# The trackers agree: every one of them in the list, exactly one leading.
mw_one_leader() {
    mw_ts=$(mw_fdfs fdfs_tracker_stat -c "$mw_client" 2>/dev/null) || return 1
    [ "$(printf '%s\n' "$mw_ts" | grep -c 'is_active: 1')" = ${String(r.trackers.length)} ] && [ "$(printf '%s\n' "$mw_ts" | grep -c 'is_leader: 1')" = 1 ]
}
mw_leaders() { mw_fdfs fdfs_tracker_stat -c "$1" 2>/dev/null | grep -c 'is_leader: 1' || :; }
mw_port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
mw_serves() { curl -sf -o /dev/null --max-time 5 "$1"; }
mw_exists() { [ -e "$1" ] || [ -L "$1" ]; }
mw_put() {
    mkdir -p "$(dirname "$1")"
    printf '%s' "$3" >"$1.mw"
    chmod "$2" "$1.mw"
    mv -f "$1.mw" "$1"
}
mw_svc() { service "$1" "$2"; }
# Records, once per step, the topmost missing ancestor of each managed path: what the migration creates.
mw_record_made() {
    mkdir -p "$MW_STEP_DIR"
    [ ! -e "$MW_STEP_DIR/made" ] || return 0
    for mw_p in ${[r.managed.trackerBase, r.managed.storageBase, r.managed.storePath, r.managed.confDir]}; do
        mw_top=; while [ ! -e "$mw_p" ]; do mw_top=$mw_p; mw_p=$(dirname "$mw_p"); done
        [ -z "$mw_top" ] || printf '%s\n' "$mw_top"
    done | sort -u >"$MW_STEP_DIR/made.mw"
    mv "$MW_STEP_DIR/made.mw" "$MW_STEP_DIR/made"
}
# Removes the empty directories the migration created (see mw_record_made).
mw_remove_made() {
    [ -e "$MW_STEP_DIR/made" ] || return 0
    while read -r mw_p; do
        [ ! -d "$mw_p" ] || find "$mw_p" -depth -type d -empty -delete
    done <"$MW_STEP_DIR/made"
    rm -f "$MW_STEP_DIR/made"
}
`;
}

/** The first line of every file the library writes, so that an inverse removes only its own. */
export const MANAGED_MARK = "# managed by pulumi-middleware";

/** Fragment: rename `path` to `path_bak` (the core's `backupPath`: guarded, safe to run again). */
export function backUp(path: string): string {
    return backupPath({ path }).forward;
}

/** Fragment: rename `path_bak` back to `path` (the inverse of {@link backUp}). */
export function restore(path: string): string {
    return backupPath({ path }).inverse;
}
