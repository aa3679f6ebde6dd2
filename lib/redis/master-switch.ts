/**
 * The switch window on the master host, and its inverse. Clients notice only this step.
 *
 * In the window, only what the switch needs: pause writes, note the key counts, SAVE, stop,
 * rename the legacy paths, hard-link the RDB into the new data dir (the backup stays intact),
 * start, check the key counts, unpause, VIP. Redis verifies the RDB's CRC64 when it loads it.
 *
 * After the window, the content proof: the RDB that crossed over is loaded by the old binary
 * and by the new one, each in a private instance, and their DEBUG DIGESTs must be equal. A
 * mismatch fails the step, and a failed step runs its inverse: the site goes back to legacy.
 * (DEBUG DIGEST of 200,000 keys takes most of a second; inside the window it would double the
 * time clients wait.)
 *
 * @module
 */
import { serviceCommands } from "../core/actions/service-state";
import { raw, RawShell, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths } from "./files";
import { backups, initLinks, legacyReadsManagedData } from "./switch";
import { redisPreamble, WRITE_PAUSE_MS } from "./redis-sh";
import { crashPoint, Reversible } from "../core/actions/reversible";

/** Seconds a started redis has to load its data. */
export const LOAD_TIMEOUT_SECONDS = 300;
/** Seconds keepalived has to put the VIP on the master. */
export const VIP_TIMEOUT_SECONDS = 30;
/**
 * Seconds to wait for the VIP before suspecting that the new keepalived did not start because
 * the old one, still exiting, holds the same pid file. A VRRP master at priority 255 takes the
 * VIP at once; the legacy one (rollback) listens for three advert intervals first.
 */
export const VIP_FIRST_TRY_SECONDS = 5;

const file = (name: string) => raw(`"$MW_STEP_DIR/${name}"`);

/** Step 2, on the master host: forward switches legacy -> managed, inverse managed -> legacy. */
export function masterSwitch(r: ResolvedRedisHa): Reversible {
    const l = r.legacy;
    const m = managedPaths(r.managedRoot);
    const redis = serviceCommands(l.redisService, r.serviceManager);
    const keepalived = serviceCommands(l.keepalivedService, r.serviceManager);
    const legacyRdb = `${l.dataDir}/${l.rdbFile}`;
    const backupRdb = `${l.dataDir}_bak/${l.rdbFile}`;
    const managedRdb = `${m.dataDir}/dump.rdb`;
    const b = backups(r);
    const links = initLinks(r);

    // Pauses writes on the server behind `cli`, records its key counts in `keys`, saves, and
    // stops it. `save ""` avoids a second save at shutdown; CONFIG SET does not touch the
    // config file. With `stopKeepalived` (forward), keepalived stops in the background: the VIP
    // goes at once, the process takes a second to exit, which the rest of the window overlaps;
    // the new keepalived may start before it exited (measured: no VIP flap when their pid files
    // differ). On the way back the managed keepalived keeps the VIP through the window instead
    // (see legacyTakesVip).
    const freeze = (cli: string, keys: RawShell, stopKeepalived: boolean) => sh`mw_expect OK ${cli} CLIENT PAUSE ${WRITE_PAUSE_MS} WRITE
mw_mark 'writes paused'
mw_keyspace ${cli} | tr '\\n' ';' >${keys}
mw_expect OK ${cli} SAVE
mw_expect OK ${cli} CONFIG SET save '""'
mw_mark "saved: $(cat ${keys})"
${raw(stopKeepalived ? sh`( ${raw(keepalived.stop)} ) >"$MW_STEP_DIR/keepalived-stop.log" 2>&1 &
mw_keepalived_stop=$!` : ":")}
${raw(redis.stop)}
mw_mark 'redis stopped'`;

    // Starts the server behind `cli`, checks its key counts against `keys`, unpauses.
    const thaw = (cli: string, keys: RawShell) => sh`${raw(redis.start)}
mw_wait_loaded ${cli} ${LOAD_TIMEOUT_SECONDS}
mw_now=$(mw_keyspace ${cli} | tr '\\n' ';')
# On the way back the VIP stays up: clients may write as soon as the server answers.
mw_since=$(mw_info_field rdb_changes_since_last_save "$(mw_rcli ${cli} INFO persistence)")
if ! mw_same_keyspace "$(cat ${keys})" "$mw_now" "\${mw_since:-0}"; then
    printf 'middleware: key counts differ after the switch\\n  before: %s\\n  after:  %s (%s writes since the load)\\n' "$(cat ${keys})" "$mw_now" "\${mw_since:-0}" >&2
    exit 1
fi
mw_mark "started, key counts match: $mw_now ($mw_since writes since the load)"
mw_rcli ${cli} CLIENT UNPAUSE >/dev/null`;

    // The managed keepalived (priority 255) takes the VIP the moment it starts.
    const managedTakesVip = sh`${raw(keepalived.start)}
if ! mw_wait_vip ${VIP_FIRST_TRY_SECONDS} && [ -n "\${mw_keepalived_stop:-}" ]; then
    # Both keepalived share a pid file: the new one could not start before the old one exited.
    wait "$mw_keepalived_stop" || :
    ${raw(keepalived.start)}
fi
mw_wait_vip ${VIP_TIMEOUT_SECONDS}
mw_mark 'VIP up'
[ -z "\${mw_keepalived_stop:-}" ] || wait "$mw_keepalived_stop" || :`;

    // The legacy keepalived (priority below 255) listens for its master-down interval before it
    // takes the VIP, and it cannot hear the managed one on the same host. So the managed one
    // keeps the VIP (and clients reach the legacy redis through it) until the legacy one has
    // become master too; then the managed one is killed with SIGKILL, parent and children at
    // once: a graceful stop would remove the VIP the legacy one now holds as well.
    // A pid file of the managed keepalived that survived a crash (it is not on /run) may name a
    // process that got the pid after the reboot, the legacy keepalived among them: only a process
    // started with the managed keepalived.conf is killed.
    const managedPids = ["keepalived.pid", "keepalived_vrrp.pid", "keepalived_checkers.pid"].map((f) => `${m.runDir}/${f}`);
    const legacyTakesVip = sh`mw_managed_pid() {
    mw_mp=$(cat "$1" 2>/dev/null) && kill -0 "$mw_mp" 2>/dev/null || return 0
    tr '\\000' ' ' <"/proc/$mw_mp/cmdline" 2>/dev/null | grep -q -F -- ${` -f ${m.keepalivedConfig} `} && echo "$mw_mp" || :
}
${raw(keepalived.start)}
if [ -n "$(mw_managed_pid ${managedPids[0]})" ]; then
    mw_down=$(awk '$1 == "advert_int" && !a { a = $2 } $1 == "priority" && !p { p = $2 } END { if (!a) a = 1; if (!p) p = 100; printf "%.2f", 3 * a + (256 - p) * a / 256 + 1 }' ${l.keepalivedConfig})
    mw_mark "the legacy keepalived takes over the VIP in $mw_down s; the managed one holds it meanwhile"
    sleep "$mw_down"
    mw_kill=''
    for f in ${managedPids}; do mw_kill="$mw_kill $(mw_managed_pid "$f")"; done
    # shellcheck disable=SC2086
    [ -z "$(echo $mw_kill)" ] || kill -KILL $mw_kill 2>/dev/null || :
fi
rm -f ${managedPids}
mw_wait_vip ${VIP_TIMEOUT_SECONDS}
mw_mark 'VIP up: the legacy keepalived holds it'`;

    // After the window: the same RDB as the old and the new binary load it.
    const prove = (legacyInstall: string, rdb: string, digest: RawShell) => sh`mw_old=$(mw_offline_digest ${`${legacyInstall}/bin/redis-server`} ${rdb})
mw_new=$(mw_offline_digest ${m.server} ${rdb})
if [ "$mw_old" != "$mw_new" ]; then
    printf 'middleware: the data reads differently in the two versions\\n  legacy:  %s\\n  managed: %s\\n' "$mw_old" "$mw_new" >&2
    exit 1
fi
printf '%s\\n' "$mw_old" >${digest}
echo "middleware: data proven equal in both versions: $mw_old"`;

    // Resuming after a crash, the step finds the legacy redis running again (the host booted with
    // the legacy init scripts in place) and freezes it again; or stopped by this step (its key
    // counts recorded), with any of the renames done. The RDB is in the managed data dir before
    // the init scripts link to the managed ones, so that a host that boots with the links in
    // place starts the managed redis on the data; it then serves, and the step carries on.
    const legacyRuns = sh`{ [ -e ${l.redisInit} ] && [ ! -L ${l.redisInit} ] && { ${raw(redis.status)}; } >/dev/null 2>&1; }`;
    const legacyKeepalivedRuns = sh`{ [ -e ${l.keepalivedInit} ] && [ ! -L ${l.keepalivedInit} ] && { ${raw(keepalived.status)}; } >/dev/null 2>&1; }`;
    const managedRuns = sh`{ [ -L ${l.redisInit} ] && { ${raw(redis.status)}; } >/dev/null 2>&1; }`;
    const forward = sh`${raw(redisPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
${raw(crashPoint("start"))}
if ${raw(legacyRuns)}; then
${raw(freeze(l.cli, file("keys"), true))}
elif [ -e ${file("keys")} ]; then
    echo 'middleware: resuming: the legacy master is already stopped'
    if ${raw(legacyKeepalivedRuns)}; then
        ${raw(keepalived.stop)}
    fi
else
    echo 'middleware: the legacy master is not running, and this step did not stop it' >&2
    exit 1
fi
${raw(crashPoint("legacy stopped"))}
${raw(b.forward)}
${raw(crashPoint("renamed"))}
[ -e ${managedRdb} ] || ln ${backupRdb} ${managedRdb} 2>/dev/null ||
    { cp -p ${backupRdb} ${`${managedRdb}.mw-tmp`} && mv -f ${`${managedRdb}.mw-tmp`} ${managedRdb}; }
${raw(crashPoint("data in place"))}
${raw(links.forward)}
${raw(crashPoint("linked"))}
if ${raw(managedRuns)}; then
    # Started at boot, from the data above; clients may have written to it since.
    mw_mark 'the managed redis already runs (the host booted with it in place)'
    mw_wait_loaded ${m.cli} ${LOAD_TIMEOUT_SECONDS}
    mw_rcli ${m.cli} CLIENT UNPAUSE >/dev/null
else
${raw(thaw(m.cli, file("keys")))}
fi
${raw(crashPoint("managed serving"))}
${raw(managedTakesVip)}
${raw(crashPoint("VIP up"))}
${raw(prove(`${l.installDir}_bak`, backupRdb, file("digest")))}
: >${file("switched")}
${raw(crashPoint("end"))}
echo 'middleware: the managed master serves behind the VIP'
`;

    // Rollback. A completed switch carries the data written since back: the managed RDB
    // replaces the legacy one, which is set aside and put back after the window if the data
    // turns out unchanged, so that an untouched site comes back byte for byte.
    // Resuming after a crash: the managed redis runs again when the host booted with the links
    // in place (it is frozen again, and the data carried again); the data is carried into the
    // legacy data dir before the legacy init scripts come back, so that a host that boots with
    // them in place starts the legacy redis on the data; it then serves, and the step carries on.
    const setAside = `${legacyRdb}.before-rollback`;
    const rdbName = l.rdbFile;
    const inverse = sh`${raw(redisPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
${raw(crashPoint("start"))}
if [ -L ${l.redisInit} ] && [ -e ${file("switched")} ] && ! ${raw(managedRuns)}; then
    # The managed master is down (a crash, an operator): its data is on disk, and it carries over.
    ${raw(redis.start)}
    mw_wait_loaded ${m.cli} ${LOAD_TIMEOUT_SECONDS}
fi
if ${raw(managedRuns)}; then
${raw(legacyReadsManagedData(r))}
    rm -f ${file("carried")}
${raw(freeze(m.cli, file("keys.rollback"), false))}
fi
${raw(crashPoint("managed stopped"))}
if [ -e ${file("keys.rollback")} ] && [ ! -e ${file("carried")} ]; then
    if [ -e ${`${l.dataDir}_bak`} ]; then mw_dir=${`${l.dataDir}_bak`}; else mw_dir=${l.dataDir}; fi
    [ -e "$mw_dir"/${`${rdbName}.before-rollback`} ] || mv "$mw_dir"/${rdbName} "$mw_dir"/${`${rdbName}.before-rollback`}
    ln -f ${managedRdb} "$mw_dir"/${rdbName} 2>/dev/null || cp -p ${managedRdb} "$mw_dir"/${rdbName}
    : >${file("carried")}
fi
${raw(crashPoint("data carried"))}
# A switch that failed before the renames left the legacy init scripts in place: no links to take away.
if [ -L ${l.redisInit} ] || [ -L ${l.keepalivedInit} ]; then
${raw(links.inverse)}
fi
${raw(b.inverse)}
${raw(crashPoint("restored"))}
if [ -e ${file("keys.rollback")} ]; then
    mw_keys=${file("keys.rollback")}
elif [ -e ${file("keys")} ]; then
    mw_keys=${file("keys")}
else
    mw_keys=''
fi
if [ -n "$mw_keys" ]; then
    if ${raw(legacyRuns)}; then
        # Started at boot, from the data carried above; clients may have written to it since.
        mw_mark 'the legacy redis already runs (the host booted with it in place)'
        mw_wait_loaded ${l.cli} ${LOAD_TIMEOUT_SECONDS}
        mw_rcli ${l.cli} CLIENT UNPAUSE >/dev/null
    else
${raw(thaw(l.cli, raw('"$mw_keys"')))}
    fi
${raw(crashPoint("legacy serving"))}
${raw(legacyTakesVip)}
else
    # The switch failed before the legacy master stopped: it still runs, maybe paused.
    mw_rcli ${l.cli} CLIENT UNPAUSE >/dev/null
fi
${raw(crashPoint("VIP back"))}
if [ -e ${setAside} ]; then
${raw(prove(l.installDir, legacyRdb, file("digest.rollback")))}
    if [ "$(cat ${file("digest.rollback")})" = "$(cat ${file("digest")} 2>/dev/null)" ]; then
        mv -f ${setAside} ${legacyRdb}
        echo 'middleware: no data was written since the migration: the legacy RDB is back as it was'
    else
        mv -f ${setAside} "$MW_STEP_DIR/legacy-dump.rdb"
        echo 'middleware: carried the data written since the migration back; the old RDB is kept in the step directory'
    fi
fi
${raw(crashPoint("end"))}
rm -f ${file("keys")} ${file("keys.rollback")} ${file("digest")} ${file("digest.rollback")} ${file("switched")} ${file("carried")}
echo 'middleware: the legacy master serves behind the VIP again'
`;
    return { forward, inverse };
}
