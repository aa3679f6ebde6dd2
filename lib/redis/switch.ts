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
import { inSequence, Reversible } from "../core/actions/reversible";
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
    return inSequence(...legacyBackupPaths(r).map((path) => backupPath({ path })));
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
        forward: ":",
        inverse: sh`${raw(redisPreamble(r))}
mw_wait_synced ${l.cli} ${SYNC_TIMEOUT_SECONDS}
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
    const m = managedPaths(r.managedRoot);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    const keepalived = serviceCommands(r.legacy.keepalivedService, r.serviceManager);
    const start: Reversible = {
        forward: sh`${raw(redisPreamble(r))}
${raw(redis.start)}
mw_wait_synced ${m.cli} ${SYNC_TIMEOUT_SECONDS}
${raw(keepalived.start)}
echo 'middleware: the managed slave is in sync and keepalived runs'
`,
        inverse: sh`${raw(redisPreamble(r))}
if [ -L ${r.legacy.redisInit} ]; then
${raw(legacyReadsManagedData(r))}
${raw(keepalived.stop)}
${raw(redis.stop)}
fi
`,
    };
    return inSequence(initLinks(r), start);
}

/** After acceptance: removes the legacy backups. Irreversible on purpose; the steps are protected. */
export function removeBackups(r: ResolvedRedisHa): Reversible {
    const paths = legacyBackupPaths(r).map((p) => `${p}_bak`);
    return { forward: sh`rm -rf ${paths}\necho 'middleware: legacy backups removed'\n`, inverse: "" };
}
