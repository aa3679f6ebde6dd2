/**
 * Pre-checks of the FastDFS site (PROCEDURES.md 1, pre-check 4 and the FastDFS section): on
 * every host, before anything changes anywhere.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { ResolvedFastDfs } from "./args";
import { fastdfsPreamble, trackerEndpoints } from "./fdfs-sh";

/** Room wanted on the managed layout's file system beyond the base dirs copied there, in KiB. */
export const FREE_SPACE_HEADROOM_KB = 64 * 1024;

/** How long a pre-check waits for a storage's state and sync lag to settle (the storages report every few seconds). */
export const SETTLE_SECONDS = 30;

/** What runs on a host, so what its pre-check looks at. */
export interface HostRoles {
    readonly legacyTracker: boolean;
    readonly addedTracker: boolean;
    /** The host's storage (and nginx), if any. */
    readonly storage?: { readonly group: string; readonly id: string };
}

/** The legacy paths a host's migration renames to `_bak`. */
export function legacyPaths(r: ResolvedFastDfs, roles: HostRoles): string[] {
    const l = r.legacy;
    return [
        ...(roles.legacyTracker ? [l.trackerDir, `/etc/init.d/${l.trackerService}`] : []),
        ...(roles.storage ? [l.storageDir, l.nginxDir, `/etc/init.d/${l.storageService}`, `/etc/init.d/${l.nginxService}`] : []),
    ];
}

/** The pre-check of one host: fails listing every problem it found. */
export function precheck(r: ResolvedFastDfs, host: string, roles: HostRoles): Reversible {
    const l = r.legacy;
    const m = r.managed;
    const address = r.hosts.get(host)!.address;
    const storage = roles.storage
        ? sh`[ -d ${`${l.storePath}/data`} ] || mw_problem ${`the legacy store path ${l.storePath}/data is missing`}
[ -f ${`${l.storageDir}/conf/storage.conf`} ] || mw_problem ${`the legacy storage config ${l.storageDir}/conf/storage.conf is missing`}
grep -Eq ${`^group_name *= *${roles.storage.group}$`} ${`${l.storageDir}/conf/storage.conf`} 2>/dev/null || mw_problem ${`the legacy storage is not of group ${roles.storage.group}`}
for t in $mw_legacy_trackers; do
    mw_is_active() { [ "$(mw_state "$t" ${address})" = ACTIVE ]; }
    mw_wait ${SETTLE_SECONDS} "the storage ${raw(address)} to be ACTIVE on the tracker $t" mw_is_active ||
        mw_problem "the storage ${raw(address)} is $(mw_state "$t" ${address} || :) on the tracker $t, not ACTIVE"
    mw_wait ${SETTLE_SECONDS} "the storage ${raw(address)} to be in sync on the tracker $t" mw_synced "$t" ${address} ||
        mw_problem "the storage ${raw(address)} is not in sync as the tracker $t sees it"
done
mw_serves "http://127.0.0.1:${raw(String(r.ports.http))}/" >/dev/null 2>&1 || mw_port_busy ${r.ports.http} || mw_problem ${`nginx does not listen on port ${r.ports.http}`}
mw_need_kb=$(du -sk ${`${l.storageDir}/data`} ${`${l.storageDir}/logs`} 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
if [ "$(stat -c %d ${l.storePath})" != "$(stat -c %d "$mw_probe")" ]; then
    mw_kb=$(du -sk ${`${l.storePath}/data`} 2>/dev/null | cut -f1)
    mw_need_kb=$((mw_need_kb + \${mw_kb:-0}))
fi
mw_room $mw_need_kb
`
        : "";
    const legacyTracker = roles.legacyTracker
        ? sh`[ -f ${`${l.trackerDir}/conf/tracker.conf`} ] || mw_problem ${`the legacy tracker config ${l.trackerDir}/conf/tracker.conf is missing`}
mw_fdfs fdfs_tracker_stat -c "$mw_legacy_client" 2>/dev/null | grep -q ${`^${address}:${r.ports.tracker}, is_leader: [01], is_active: 1`} || mw_problem 'the legacy tracker on this host is not active'
mw_room $(du -sk ${`${l.trackerDir}/data`} ${`${l.trackerDir}/logs`} 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
`
        : "";
    const added = roles.addedTracker
        ? sh`! mw_port_busy ${r.ports.tracker} || mw_problem ${`port ${r.ports.tracker} is taken on this host (the added tracker's)`}
! mw_exists ${m.trackerBase} || mw_problem ${`${m.trackerBase} exists already on this host`}
! mw_exists ${`/etc/init.d/${l.trackerService}`} || mw_problem ${`/etc/init.d/${l.trackerService} exists already on this host`}
`
        : "";
    const forward = sh`${raw(fastdfsPreamble(r))}
mw_legacy_trackers=${r.trackers.filter((t) => !t.added).map((t) => `${t.host.address}:${r.ports.tracker}`).join(" ")}
mw_problems=''
mw_problem() { mw_problems="$mw_problems
  - $1"; }
mw_probe=${m.trackerBase}
while [ ! -d "$mw_probe" ]; do mw_probe=$(dirname "$mw_probe"); done
mw_room() {
    mw_free_kb=$(df -Pk "$mw_probe" | awk 'NR == 2 { print $4 }')
    [ "$mw_free_kb" -ge $(($1 + ${raw(String(FREE_SPACE_HEADROOM_KB))})) ] || mw_problem "not enough room under ${raw(m.trackerBase.split("/").slice(0, 2).join("/") || "/")}: $mw_free_kb KiB free, $(($1 + ${raw(String(FREE_SPACE_HEADROOM_KB))})) KiB needed"
}
for b in fdfs_trackerd fdfs_storaged fdfs_monitor fdfs_tracker_stat; do [ -x "$mw_home/bin/$b" ] || mw_problem "$mw_home/bin/$b is missing (args.home)"; done
[ -x "$mw_home/nginx/sbin/nginx" ] || mw_problem "$mw_home/nginx/sbin/nginx is missing (nginx with the FastDFS module, args.home)"
for p in ${legacyPaths(r, roles)}; do
    mw_exists "$p" || mw_problem "legacy path $p is missing"
    ! mw_exists "$p"_bak || mw_problem "$p"'_bak exists already: an earlier migration was not rolled back'
done
mw_led_by=$(for mw_t in ${trackerEndpoints(r, "legacy")}; do mw_leader_of "$mw_t"; done | sort -u | tr '\n' ' ')
mw_n=$(printf '%s' "$mw_led_by" | wc -w)
[ "$mw_n" = 1 ] || mw_problem "the legacy trackers follow $mw_n leaders ($mw_led_by); expected exactly one (a tracker cut off from the others leads alone until it restarts)"
${raw(legacyTracker)}${raw(added)}${raw(storage)}
if [ -n "$mw_problems" ]; then
    printf 'middleware: pre-check failed on %s:%s\\n' ${host} "$mw_problems" >&2
    exit 1
fi
echo ${`middleware: pre-check passed on ${host}`}
`;
    return { forward, inverse: "" };
}
