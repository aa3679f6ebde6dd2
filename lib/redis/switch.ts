/**
 * The switch from the legacy pair to the managed one, and back. Three steps:
 *
 * 1. slave out (slave host): stop the legacy keepalived and redis, rename the legacy paths to `_bak`.
 *    The master keeps serving and keeps the VIP.
 * 2. master switch (master host), the only window clients notice: pause writes, record the
 *    data digest, SAVE, stop the legacy services, rename the legacy paths, link the RDB into the
 *    managed data dir (a hard link: the backup stays intact), start the managed redis, prove the
 *    digest equal, start keepalived and wait for the VIP. One script, so the window lasts only
 *    as long as the work in it.
 * 3. slave in (slave host): start the managed redis as a replica, wait until it is in sync,
 *    start keepalived.
 *
 * Each inverse undoes its step; `destroy` runs them in reverse: managed slave stopped, master
 * switched back (carrying any data written since the migration), legacy slave started.
 *
 * @module
 */
import { backupPath } from "../core/actions/backup-path";
import { inSequence, Reversible } from "../core/actions/reversible";
import { linkPath } from "../core/actions/link-path";
import { serviceCommands, serviceState } from "../core/actions/service-state";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths } from "./files";
import { legacyBackupPaths } from "./prechecks";
import { redisPreamble, WRITE_PAUSE_MS } from "./redis-sh";

/** Seconds a started redis has to load its data, and a replica to sync. */
export const LOAD_TIMEOUT_SECONDS = 300;
/** Seconds keepalived has to put the VIP on the master. */
export const VIP_TIMEOUT_SECONDS = 30;

function backups(r: ResolvedRedisHa): Reversible {
    return inSequence(...legacyBackupPaths(r).map((path) => backupPath({ path })));
}

function initLinks(r: ResolvedRedisHa): Reversible {
    const m = managedPaths(r.managedRoot, r.version);
    return inSequence(
        linkPath({ path: r.legacy.redisInit, target: m.redisInit }),
        linkPath({ path: r.legacy.keepalivedInit, target: m.keepalivedInit }),
    );
}

/** Step 1, on the slave host. */
export function slaveOut(r: ResolvedRedisHa): Reversible {
    const l = r.legacy;
    const manager = r.serviceManager;
    // Runs last on rollback: the legacy slave is back only when it is in sync again.
    const resynced: Reversible = {
        forward: ":",
        inverse: sh`${raw(redisPreamble(r))}
mw_wait_synced ${l.cli} ${LOAD_TIMEOUT_SECONDS}
echo 'middleware: the legacy slave is in sync with the master'
`,
    };
    return inSequence(
        resynced,
        serviceState({ service: l.keepalivedService, state: "stopped", manager }),
        serviceState({ service: l.redisService, state: "stopped", manager }),
        backups(r),
    );
}

/** Step 3, on the slave host. */
export function slaveIn(r: ResolvedRedisHa): Reversible {
    const m = managedPaths(r.managedRoot, r.version);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    const keepalived = serviceCommands(r.legacy.keepalivedService, r.serviceManager);
    const start: Reversible = {
        forward: sh`${raw(redisPreamble(r))}
${raw(redis.start)}
mw_wait_synced ${m.cli} ${LOAD_TIMEOUT_SECONDS}
${raw(keepalived.start)}
echo 'middleware: the managed slave is in sync and keepalived runs'
`,
        inverse: sh`if [ -L ${r.legacy.redisInit} ]; then
${raw(keepalived.stop)}
${raw(redis.stop)}
fi
`,
    };
    return inSequence(initLinks(r), start);
}

/** Step 2, on the master host: the switch window. */
export function masterSwitch(r: ResolvedRedisHa): Reversible {
    const l = r.legacy;
    const m = managedPaths(r.managedRoot, r.version);
    const redis = serviceCommands(l.redisService, r.serviceManager);
    const keepalived = serviceCommands(l.keepalivedService, r.serviceManager);
    const legacyRdb = `${l.dataDir}/${l.rdbFile}`;
    const managedRdb = `${m.dataDir}/dump.rdb`;
    const digestFile = raw(`"$MW_STEP_DIR/digest"`);
    const rollbackDigest = raw(`"$MW_STEP_DIR/digest.rollback"`);
    const switched = raw(`"$MW_STEP_DIR/switched"`);
    const b = backups(r);
    const links = initLinks(r);

    // Freezes the running server behind `cli`: pause writes, digest to `file`, SAVE, stop.
    const freeze = (cli: string, file: ReturnType<typeof raw>) => sh`mw_expect OK ${cli} CLIENT PAUSE ${WRITE_PAUSE_MS} WRITE
mw_digest ${cli} >${file}.tmp && mv -f ${file}.tmp ${file}
mw_expect OK ${cli} SAVE
${raw(keepalived.stop)}
${raw(redis.stop)}`;

    // Starts the server behind `cli` and proves its data equal to the digest in `file`.
    const thaw = (cli: string, file: ReturnType<typeof raw>) => sh`${raw(redis.start)}
mw_wait_loaded ${cli} ${LOAD_TIMEOUT_SECONDS}
mw_now=$(mw_digest ${cli})
if [ "$mw_now" != "$(cat ${file})" ]; then
    printf 'middleware: data differs after the switch\\n  before: %s\\n  after:  %s\\n' "$(cat ${file})" "$mw_now" >&2
    exit 1
fi
echo "middleware: data proven equal: $mw_now"
mw_rcli ${cli} CLIENT UNPAUSE >/dev/null
${raw(keepalived.start)}
mw_wait_vip ${VIP_TIMEOUT_SECONDS}`;

    const forward = sh`${raw(redisPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
if [ -e ${`${l.installDir}_bak`} ] && [ -e ${digestFile} ]; then
    echo 'middleware: resuming: the legacy master is already stopped and backed up'
else
${raw(freeze(l.cli, digestFile))}
fi
${raw(b.forward)}
${raw(links.forward)}
if [ ! -e ${managedRdb} ]; then
    ln ${`${l.dataDir}_bak/${l.rdbFile}`} ${managedRdb} 2>/dev/null || cp -p ${`${l.dataDir}_bak/${l.rdbFile}`} ${managedRdb}
fi
${raw(thaw(m.cli, digestFile))}
: >${switched}
echo 'middleware: the managed master serves behind the VIP'
`;

    const inverse = sh`${raw(redisPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
if [ -L ${l.redisInit} ] && ${raw(redis.status)} >/dev/null 2>&1; then
${raw(freeze(m.cli, rollbackDigest))}
fi
${raw(links.inverse)}
${raw(b.inverse)}
# Only a completed switch carries data back: a half-done one never served writes, and its
# managed data may be the very thing that failed the check.
if [ -e ${switched} ] && [ -e ${rollbackDigest} ] && [ "$(cat ${rollbackDigest})" != "$(cat ${digestFile})" ]; then
    # Written since the migration: the legacy master takes the newer data; its own RDB is kept.
    cp -p ${legacyRdb} "$MW_STEP_DIR/legacy-dump.rdb"
    cp -p ${managedRdb} ${`${legacyRdb}.mw-tmp`} && mv -f ${`${legacyRdb}.mw-tmp`} ${legacyRdb}
    echo 'middleware: carried the data written since the migration back to the legacy master'
elif [ -e ${digestFile} ]; then
    cp ${digestFile} ${rollbackDigest}
fi
if [ -e ${rollbackDigest} ]; then
${raw(thaw(l.cli, rollbackDigest))}
else
    # The switch failed before the legacy master stopped: it still runs, paused.
    mw_rcli ${l.cli} CLIENT UNPAUSE >/dev/null
fi
rm -f ${digestFile} ${rollbackDigest} ${switched}
echo 'middleware: the legacy master serves behind the VIP again'
`;
    return { forward, inverse };
}

/** After acceptance: removes the legacy backups. Irreversible on purpose; the steps are protected. */
export function removeBackups(r: ResolvedRedisHa): Reversible {
    const paths = legacyBackupPaths(r).map((p) => `${p}_bak`);
    return { forward: sh`rm -rf ${paths}\necho 'middleware: legacy backups removed'\n`, inverse: "" };
}
