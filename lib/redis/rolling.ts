/**
 * Restarting a serving pair onto another Redis version without taking it offline: the slave
 * first, then the master, with the VIP and the writes on the slave while the master restarts.
 *
 * The master's restart is a switchover driven from the master's own script:
 *
 * 1. hand over: pause writes here, wait until the slave has every write (offsets equal),
 *    promote the slave, stop keepalived here (its priority-0 advert hands the VIP over at
 *    once), wait until the VIP answers from the slave, stop redis here;
 * 2. restart here on the new version as a replica of the slave, wait until in sync;
 * 3. take back: start keepalived here (priority 255 takes the VIP at once), pause writes on the
 *    slave, wait until this host has every write, promote this host, make the slave a replica
 *    again, unpause it.
 *
 * Every acknowledged write is on the new master before it takes writes: writes are paused on
 * the old one while the other catches up, and paused writes fail, they are never acknowledged.
 * The same fragment is the way back when an upgrade fails halfway: it starts from whatever
 * state the pair is in (this host serving, the slave serving, both masters with the VIP here,
 * or this host down).
 *
 * @module
 */
import { serviceCommands } from "../core/actions/service-state";
import { raw, RawShell, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths } from "./files";
import { SYNC_TIMEOUT_SECONDS } from "./switch";
import { LOAD_TIMEOUT_SECONDS } from "./master-switch";
import { WRITE_PAUSE_MS } from "./redis-sh";

/** Seconds a replica has to catch up with its paused master before a switchover is abandoned. */
export const CATCH_UP_TIMEOUT_SECONDS = 10;
/** Seconds the VIP has to move between the hosts (a priority-0 advert moves it in under one). */
export const VIP_MOVE_TIMEOUT_SECONDS = 15;
/**
 * Seconds keepalived's track script (interval 1, rise 1) needs to see a restarted redis healthy
 * again; until then the slave's keepalived would not take the VIP.
 */
export const TRACK_SCRIPT_SETTLE_SECONDS = 2;

/** Fragment: points `current` at `target` (a shell word: `versions/<version>`), atomically. */
export function switchCurrent(r: ResolvedRedisHa, target: RawShell): string {
    const m = managedPaths(r.managedRoot);
    return sh`ln -sfn ${target} ${`${m.current}.mw-tmp`} && mv -T ${`${m.current}.mw-tmp`} ${m.current}`;
}

/** Fragment for the slave host: restart the managed slave on `target`, wait until in sync. */
export function slaveOnto(r: ResolvedRedisHa, target: RawShell): string {
    const m = managedPaths(r.managedRoot);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    return sh`${raw(switchCurrent(r, target))}
${raw(redis.stop)}
${raw(redis.start)}
mw_wait_loaded ${m.cli} ${LOAD_TIMEOUT_SECONDS}
mw_wait_synced ${m.cli} ${SYNC_TIMEOUT_SECONDS}
sleep ${TRACK_SCRIPT_SETTLE_SECONDS}
mw_mark "the slave runs $(mw_version_of ${m.server}) and is in sync"`;
}

/** Fragment for the master host: the switchover described above, onto `target`. */
export function masterOnto(r: ResolvedRedisHa, target: RawShell): string {
    const m = managedPaths(r.managedRoot);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    const keepalived = serviceCommands(r.legacy.keepalivedService, r.serviceManager);
    const slave = r.slave.address;
    const master = r.master.address;
    const vip = r.vip.address;
    const cli = m.cli;
    return sh`mw_here=$(mw_role_at 127.0.0.1 ${cli})
mw_there=$(mw_role_at ${slave} ${cli})
[ -n "$mw_there" ] || { echo ${`middleware: the slave ${slave} does not answer: refusing to restart the master`} >&2; exit 1; }
if [ "$mw_here" = master ] && [ "$mw_there" = master ] && mw_has_vip; then
    # Both are masters (a take-back that stopped halfway): this one has the VIP, so the writes.
    mw_ok_at ${slave} ${cli} REPLICAOF ${master} ${String(r.port)}
    mw_ok_at ${slave} ${cli} CLIENT UNPAUSE
    mw_wait_synced_at ${slave} ${cli} ${SYNC_TIMEOUT_SECONDS}
    mw_there=slave
fi
if [ "$mw_here" = master ]; then
    if [ "$mw_there" = slave ]; then
        [ "$(mw_info_field master_link_status "$(mw_rcli_at ${slave} ${cli} INFO replication)")" = up ] ||
            { echo ${`middleware: the slave ${slave} is not in sync with this master: refusing to hand it the VIP`} >&2; exit 1; }
        mw_ok_at 127.0.0.1 ${cli} CLIENT PAUSE ${WRITE_PAUSE_MS} WRITE
        mw_mark 'writes paused on the master'
        mw_wait_caught_up 127.0.0.1 ${slave} ${cli} ${CATCH_UP_TIMEOUT_SECONDS}
        mw_ok_at ${slave} ${cli} REPLICAOF NO ONE
        mw_mark 'the slave is promoted'
    fi
    ${raw(keepalived.stop)}
    mw_slave_id=$(mw_run_id_at ${slave} ${cli})
    mw_i=0
    until [ -n "$mw_slave_id" ] && [ "$(mw_run_id_at ${vip} ${cli})" = "$mw_slave_id" ]; do
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le ${VIP_MOVE_TIMEOUT_SECONDS * 20} ] || { echo ${`middleware: the VIP ${vip} did not move to the slave within ${VIP_MOVE_TIMEOUT_SECONDS} s`} >&2; exit 1; }
        sleep 0.05
    done
    mw_mark 'the slave serves behind the VIP'
    # Clients still waiting on the paused writes here learn at once that they must retry; this
    # instance's data is resynced from the slave, so it does not save on the way down.
    mw_rcli ${cli} CLIENT KILL TYPE normal >/dev/null || :
    mw_rcli ${cli} CONFIG SET save '""' >/dev/null || :
else
    ${raw(keepalived.stop)}
fi
${raw(redis.stop)}
${raw(switchCurrent(r, target))}
${raw(redis.start)}
# The pid file appears before the data is loaded; REPLICAOF is refused until then.
mw_wait_loaded ${cli} ${LOAD_TIMEOUT_SECONDS}
mw_ok_at 127.0.0.1 ${cli} REPLICAOF ${slave} ${String(r.port)}
mw_wait_synced ${cli} ${SYNC_TIMEOUT_SECONDS}
mw_mark "restarted on $(mw_version_of ${m.server}), in sync with the slave"
${raw(keepalived.start)}
mw_wait_vip ${VIP_MOVE_TIMEOUT_SECONDS}
mw_mark 'the VIP is back on the master'
mw_ok_at ${slave} ${cli} CLIENT PAUSE ${WRITE_PAUSE_MS} WRITE
mw_wait_caught_up ${slave} 127.0.0.1 ${cli} ${CATCH_UP_TIMEOUT_SECONDS}
mw_ok_at 127.0.0.1 ${cli} REPLICAOF NO ONE
mw_ok_at ${slave} ${cli} REPLICAOF ${master} ${String(r.port)}
mw_ok_at ${slave} ${cli} CLIENT UNPAUSE
mw_mark 'the master takes writes again; the slave replicates from it'`;
}
