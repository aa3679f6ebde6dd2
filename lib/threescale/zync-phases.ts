/**
 * The runbook's zync restore as reversible actions (bodies for the local steps, after
 * {@link kubectlPrelude}) and the scaling they lead to: zync and zync-que scaled to 0 with their
 * counts remembered, the gzipped dump copied into the database's pod and loaded with `psql`, the
 * counts put back.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedThreescaleRestore } from "./args";
import type { ClusterWave, Emitted } from "./cluster-changes";

type ZyncArgs = NonNullable<ResolvedThreescaleRestore["zync"]>;

/** Step ids of the zync restore (part of resource names: never change them). */
export const ZYNC_STEPS = {
    scaleDown: "zync-scale-down",
    load: "zync-load-dump",
    scaleUp: "zync-scale-up",
} as const;

/** Where the dump is copied in the database's pod while it loads. */
export const ZYNC_DUMP_IN_POD = "/tmp/middleware-zync-restore.sql.gz";

/** The replica counts as the scale-down step remembered them: `<deployment> <count>` lines. */
const REMEMBERED = raw(`"$MW_STATE_DIR/steps/$MW_COMPONENT/${ZYNC_STEPS.scaleDown}/replicas"`);

function connection(z: ZyncArgs): string[] {
    return [...(z.host ? ["-h", z.host] : []), "-U", z.user, "-d", z.database];
}

/**
 * Shell function `mw_zync_load <file>`: copies the gzipped dump into the database's pod, then
 * gunzips it into `psql` in one transaction that stops at the first error.
 */
export function loadFunction(z: ZyncArgs): string {
    const load = `gzip -dc "$f" | psql -X -q -v ON_ERROR_STOP=1 --single-transaction "$@" >/dev/null`;
    return sh`mw_zync_load() {
    mw_wait_ready ${z.databaseDeployment}
    mw_in_pod ${z.databaseDeployment} 'cat >"$1.part" && mv "$1.part" "$1"' ${ZYNC_DUMP_IN_POD} <"$1"
    mw_in_pod ${z.databaseDeployment} ${`f=$1; shift; ${load}; rc=$?; rm -f "$f"; exit $rc`} ${ZYNC_DUMP_IN_POD} ${connection(z)} </dev/null
}
`;
}

/**
 * The scale-down's local step: keeps the consumers' replica counts (once) and tells them to the
 * program (`replicas.<deployment>`); Deployment Patches then scale the consumers to 0
 * ({@link scaleChanges}). The inverse scales them back to the kept counts (and removes the
 * Patches' `pulumi.com/patchForce` annotation) and waits for them.
 */
export function scaleDown(z: ZyncArgs): Reversible {
    return {
        forward: sh`mkdir -p "$MW_STEP_DIR"
if [ ! -f "$MW_STEP_DIR/replicas" ]; then
    for mw_d in ${z.consumers}; do printf '%s %s\\n' "$mw_d" "$(k get deployment "$mw_d" -o jsonpath='{.spec.replicas}')"; done >"$MW_STEP_DIR/replicas.part"
    mv "$MW_STEP_DIR/replicas.part" "$MW_STEP_DIR/replicas"
fi
while read -r mw_d mw_n; do mw_emit "replicas.$mw_d" "$mw_n"; done <"$MW_STEP_DIR/replicas"
`,
        inverse: sh`if [ -f "$MW_STEP_DIR/replicas" ]; then
    while read -r mw_d mw_n; do k scale "deployment/$mw_d" --replicas="$mw_n" >/dev/null; done <"$MW_STEP_DIR/replicas"
    mw_unforce deployment ${z.consumers}
    mw_wait_ready ${z.consumers}
    rm -rf "$MW_STEP_DIR"
fi
`,
    };
}

/** The count of consumer `deployment` the scale-down kept. */
export function keptReplicas(deployment: string): Emitted {
    return { step: ZYNC_STEPS.scaleDown, key: `replicas.${deployment}` };
}

/** Deployment Patches that scale every consumer to `to`: 0, or the counts the scale-down kept. */
export function scaleChanges(z: ZyncArgs, after: string, to: "zero" | "kept"): ClusterWave {
    return {
        after,
        changes: z.consumers.map((d) => ({
            kind: "scale", id: `${d}-scale-${to === "zero" ? "down" : "up"}`, deployment: d, replicas: to === "zero" ? 0 : keptReplicas(d),
        }) as const),
    };
}

/**
 * Waits until the consumers have no pod left, dumps the database as it is (once, gzipped, into
 * the step folder: what `destroy` loads back), then loads the backup. The inverse loads the
 * pre-restore dump.
 */
export function loadDump(z: ZyncArgs): Reversible {
    const dump = `pg_dump --clean --if-exists "$@" >/tmp/middleware-zync-before.sql && gzip -c /tmp/middleware-zync-before.sql; rc=$?; rm -f /tmp/middleware-zync-before.sql; exit $rc`;
    return {
        forward: sh`for mw_d in ${z.consumers}; do mw_pods_gone "$mw_d"; done
mw_wait_ready ${z.databaseDeployment}
mkdir -p "$MW_STEP_DIR"
if [ ! -f "$MW_STEP_DIR/before.sql.gz" ]; then
    mw_in_pod ${z.databaseDeployment} ${dump} ${connection(z).filter((a) => a !== "-d")} </dev/null >"$MW_STEP_DIR/before.sql.gz.part"
    gzip -t "$MW_STEP_DIR/before.sql.gz.part"
    mv "$MW_STEP_DIR/before.sql.gz.part" "$MW_STEP_DIR/before.sql.gz"
fi
mw_zync_load ${z.backup}
`,
        inverse: sh`if [ -f "$MW_STEP_DIR/before.sql.gz" ]; then
    mw_zync_load "$MW_STEP_DIR/before.sql.gz"
    rm -rf "$MW_STEP_DIR"
fi
`,
    };
}

/**
 * The scale-up's local step: checks that the kept counts are still there; Deployment Patches
 * then scale the consumers back to them ({@link scaleChanges}). The inverse scales them to 0 again.
 */
export function scaleUp(z: ZyncArgs): Reversible {
    return {
        forward: sh`if [ ! -f ${REMEMBERED} ]; then
    printf 'middleware: %s, the replica counts from before the restore, is gone\\n' ${REMEMBERED} >&2
    exit 1
fi
`,
        inverse: sh`for mw_d in ${z.consumers}; do k scale "deployment/$mw_d" --replicas=0 >/dev/null; done
for mw_d in ${z.consumers}; do mw_pods_gone "$mw_d"; done
`,
    };
}
