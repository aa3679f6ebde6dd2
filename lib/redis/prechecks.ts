/**
 * Pre-checks of the Redis pair (PROCEDURES.md 1, pre-checks 3-4, and the Redis section):
 * nothing changes on any host before all of them pass on both hosts.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { precheckFraming } from "../core/actions/precheck";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths, Role } from "./files";
import { redisPreamble } from "./redis-sh";

/** Headroom on the managed root's filesystem beyond twice the RDB, in KiB. */
export const FREE_SPACE_HEADROOM_KB = 64 * 1024;

/** The legacy paths the migration renames to `_bak`, in the runbook's order. */
export function legacyBackupPaths(r: ResolvedRedisHa): string[] {
    const l = r.legacy;
    return [l.installDir, l.keepalivedDir, l.redisInit, l.keepalivedInit, l.dataDir, l.config, l.keepalivedConfig];
}

/** The pre-check of one host: fails with every problem it found listed. */
export function precheck(r: ResolvedRedisHa, role: Role): Reversible {
    const l = r.legacy;
    const m = managedPaths(r.managedRoot);
    const peer = role === "master" ? r.slave.address : r.master.address;
    const roleCheck =
        role === "master"
            ? sh`[ "$(mw_info_field role "$mw_repl")" = master ] || mw_problem "legacy redis is not a master (INFO replication: role=$(mw_info_field role "$mw_repl"))"
printf '%s\\n' "$mw_repl" | grep -q ${`^slave[0-9]*:ip=${peer},`} || mw_problem ${`the slave ${peer} is not connected to this master`}
mw_has_vip || mw_problem ${`this master does not hold the VIP ${r.vip.address} on ${r.vip.interface}`}
mw_ver=$(mw_info_field redis_version "$(mw_rcli "$L" INFO server)")
case $mw_ver in [0-5].*|6.[01].*) mw_problem "legacy redis $mw_ver cannot pause writes only (CLIENT PAUSE WRITE needs 6.2 or newer)";; esac
# DEBUG DIGEST-VALUE of an absent key proves DEBUG is allowed in O(1); a full DEBUG DIGEST
# would block the live master for a second per 200,000 keys.
mw_probe=$(mw_rcli "$L" DEBUG DIGEST-VALUE middleware:absent-probe-key 2>&1) || mw_probe="ERR $mw_probe"
case $mw_probe in *ERR*) mw_problem "DEBUG is refused ($mw_probe): set enable-debug-command local on the legacy master";; esac
mw_rdb_kb=$(du -k ${`${l.dataDir}/${l.rdbFile}`} 2>/dev/null | cut -f1) || mw_rdb_kb=0
mw_probe=${r.managedRoot}
while [ ! -d "$mw_probe" ]; do mw_probe=$(dirname "$mw_probe"); done
mw_free_kb=$(df -Pk "$mw_probe" | awk 'NR == 2 { print $4 }')
[ "$mw_free_kb" -ge $((2 * \${mw_rdb_kb:-0} + ${raw(String(FREE_SPACE_HEADROOM_KB))})) ] ||
    mw_problem "not enough room for the data under ${r.managedRoot}: $mw_free_kb KiB free, $((2 * \${mw_rdb_kb:-0} + ${raw(String(FREE_SPACE_HEADROOM_KB))})) KiB needed"`
            : sh`[ "$(mw_info_field role "$mw_repl")" = slave ] || mw_problem "legacy redis is not a slave (role=$(mw_info_field role "$mw_repl"))"
[ "$(mw_info_field master_host "$mw_repl")" = ${peer} ] || mw_problem ${`the slave does not replicate from ${peer}`}
[ "$(mw_info_field master_link_status "$mw_repl")" = up ] || mw_problem 'the replication link to the master is not up'
! mw_has_vip || mw_problem ${`the slave holds the VIP ${r.vip.address}; it must be on the master`}`;
    const checks = sh`for p in ${legacyBackupPaths(r)} ${l.cli}; do
    [ -e "$p" ] || mw_problem "legacy path $p is missing"
    [ ! -e "$p"_bak ] || mw_problem "$p"'_bak exists already: an earlier migration was not rolled back'
done
[ -x ${r.source.keepalived} ] || mw_problem ${`install source ${r.source.keepalived} is missing or not executable`}
if [ -e ${m.root} ] && [ ! -e ${`${m.root}/.managed-by-pulumi-middleware`} ]; then
    mw_problem ${`${m.root} exists and was not made by this library`}
fi
if mw_repl=$(mw_rcli "$L" INFO replication); then
${raw(roleCheck)}
else
    mw_problem 'AUTH with the configured password failed on the legacy redis (or it is down)'
fi
`;
    const forward = sh`${raw(redisPreamble(r))}
L=${l.cli}
${raw(precheckFraming(checks, role))}`;
    return { forward, inverse: "" };
}
