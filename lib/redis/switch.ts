/**
 * The slave's side of the switch from the legacy pair to the managed one, and back (the
 * master's window is in ./master-switch). Three steps:
 *
 * 1. slave out (slave host): stop the legacy keepalived and redis, rename the legacy paths to `_bak`.
 *    The master keeps serving and keeps the VIP.
 * 2. master switch (master host), the only window clients notice (see ./master-switch).
 * 3. slave in (slave host): start the managed redis as a replica, wait until it is in sync,
 *    start keepalived.
 *
 * Each inverse undoes its step; `destroy` runs them in reverse: managed slave stopped, master
 * switched back (carrying any data written since the migration), legacy slave started.
 *
 * @module
 */
import { backupPath } from "../core/actions/backup-path";
import { crashPoint, inSequence, Reversible } from "../core/actions/reversible";
import { linkPath } from "../core/actions/link-path";
import { serviceCommands, serviceState } from "../core/actions/service-state";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths } from "./files";
import { legacyBackupPaths } from "./prechecks";
import { redisPreamble } from "./redis-sh";
import { refuseUnlessReads } from "./rdb-format";

/** Seconds a replica has to sync. */
export const SYNC_TIMEOUT_SECONDS = 300;

/** Renames every legacy path to `_bak` (inverse: back), in the runbook's order. */
export function backups(r: ResolvedRedisHa): Reversible {
    const m = managedPaths(r.managedRoot);
    // The init scripts are replaced by links to the managed ones later in the same step; a
    // resumed step finds the link and the backup, and that is the backup done.
    const replacedBy = new Map([[r.legacy.redisInit, m.redisInit], [r.legacy.keepalivedInit, m.keepalivedInit]]);
    return inSequence(...legacyBackupPaths(r).map((path) => backupPath({ path, replacedBy: replacedBy.get(path) })));
}

/** Links the managed init scripts where the legacy ones were, so `service redis` keeps working. */
export function initLinks(r: ResolvedRedisHa): Reversible {
    const m = managedPaths(r.managedRoot);
    return inSequence(
        linkPath({ path: r.legacy.redisInit, target: m.redisInit }),
        linkPath({ path: r.legacy.keepalivedInit, target: m.keepalivedInit }),
    );
}

/**
 * Fragment of the rollback: refuses (exit 1, nothing changed) when the legacy binary cannot
 * read the RDB format the managed redis writes, as after an upgrade to a newer format; rolling
 * back then would leave a legacy redis that cannot start.
 */
export function legacyReadsManagedData(r: ResolvedRedisHa): string {
    return refuseUnlessReads(
        `${r.legacy.installDir}_bak/bin/redis-server`,
        managedPaths(r.managedRoot).server,
        "the legacy redis cannot read the data the managed Redis writes: set the version back to one the legacy redis reads, then roll back; nothing was changed",
    );
}

/** Step 1, on the slave host. */
export function slaveOut(r: ResolvedRedisHa): Reversible {
    const l = r.legacy;
    const manager = r.serviceManager;
    // Runs last on rollback: the legacy slave is back only when it is in sync again.
    const resynced: Reversible = {
        forward: crashPoint("start"),
        inverse: sh`${raw(redisPreamble(r))}
${raw(crashPoint("before the resync"))}
mw_wait_synced ${l.cli} ${SYNC_TIMEOUT_SECONDS}
${raw(crashPoint("end"))}
echo 'middleware: the legacy slave is in sync with the master'
`,
    };
    return inSequence(
        resynced,
        serviceState({ service: l.keepalivedService, state: "stopped", manager }),
        serviceState({ service: l.redisService, state: "stopped", manager }),
        backups(r),
        { forward: crashPoint("end"), inverse: crashPoint("start") },
    );
}

/** Step 3, on the slave host. */
export function slaveIn(r: ResolvedRedisHa): Reversible {
    const m = managedPaths(r.managedRoot);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    const keepalived = serviceCommands(r.legacy.keepalivedService, r.serviceManager);
    // A crash may stop the inverse between the two stops or the two unlinks: each service is
    // stopped only while its init script is still the link to the managed one.
    const start: Reversible = {
        forward: sh`${raw(redisPreamble(r))}
${raw(crashPoint("before starting"))}
${raw(redis.start)}
mw_wait_synced ${m.cli} ${SYNC_TIMEOUT_SECONDS}
${raw(crashPoint("in sync"))}
${raw(keepalived.start)}
${raw(crashPoint("end"))}
echo 'middleware: the managed slave is in sync and keepalived runs'
`,
        inverse: sh`${raw(redisPreamble(r))}
${raw(crashPoint("start"))}
if [ -L ${r.legacy.redisInit} ]; then
${raw(legacyReadsManagedData(r))}
fi
if [ -L ${r.legacy.keepalivedInit} ]; then
${raw(keepalived.stop)}
fi
${raw(crashPoint("keepalived stopped"))}
if [ -L ${r.legacy.redisInit} ]; then
${raw(redis.stop)}
fi
${raw(crashPoint("redis stopped"))}
`,
    };
    return inSequence(initLinks(r), start, { forward: "", inverse: crashPoint("end") });
}

/** After acceptance: removes the legacy backups. Irreversible on purpose; the steps are protected. */
export function removeBackups(r: ResolvedRedisHa): Reversible {
    const paths = legacyBackupPaths(r).map((p) => `${p}_bak`);
    return { forward: sh`rm -rf ${paths}\necho 'middleware: legacy backups removed'\n`, inverse: "" };
}
