/**
 * The plan of a 3scale restore: the runbook's phases as steps on the cluster, in order. Redis
 * first (persistence off, each restored Redis's data swapped, every AOF rewritten, persistence
 * back), then zync (scale to 0, load, scale back), then the dependants rolled out. One after
 * the other, as the runbook does them: a failed phase stops what comes after it. ConfigMap
 * changes, their rollouts, the scaling and the dependants' rollout are cluster changes made by
 * `@pulumi/kubernetes` ({@link ClusterWave}) after the local step that keeps what they replace
 * and whose inverse puts it back; in-pod work (files, AOF rewrite, the dump) is local steps.
 *
 * @module
 */
import { sh } from "../core/shell";
import { Plan, PlannedStep } from "../core/plan";
import { sequence } from "../core/order";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedThreescaleRestore } from "./args";
import { kubectlPrelude } from "./kubectl-sh";
import { describeChange, type ClusterWave, type Emitted } from "./cluster-changes";
import {
    CONFIG_ROLLOUT_ATTEMPTS, persistenceChanges, persistenceLive, persistenceOff, persistenceOn, REDIS_STEPS, rewriteAof, rewriteAofFunction,
    rolloutConfigFunction, swapData,
} from "./redis-phases";
import { loadDump, loadFunction, scaleChanges, scaleDown, scaleUp, ZYNC_STEPS } from "./zync-phases";

/** The step id of the dependants' rollout. */
export const ROLLOUT_DEPENDANTS_STEP = "rollout-dependants";

/** The step id of the last check: zync's consumers and the dependants rolled out and ready. */
export const RESTORED_READY_STEP = "restored-ready";

/** Seconds a step gets beyond its rollouts' time limits (kubectl calls, copies). */
const STEP_MARGIN_SECONDS = 300;

/** Time limit of the dump's load. */
const LOAD_TIMEOUT_SECONDS = 3600;

/**
 * A restore's plan: its local steps (the approval report's lines) and the cluster changes that
 * `@pulumi/kubernetes` makes between them.
 */
export interface ThreescalePlan extends Plan {
    readonly waves: readonly ClusterWave[];
}

type Unordered = Omit<PlannedStep, "after">;

const changeList = (waves: readonly ClusterWave[]) => waves.flatMap((w) => w.changes.map(describeChange)).join("; ");

/** The plan of restore `name` on the cluster. */
export function planThreescaleRestore(name: string, r: ResolvedThreescaleRestore): ThreescalePlan {
    const prelude = [kubectlPrelude(r), r.redis ? rewriteAofFunction() + rolloutConfigFunction() : "", r.zync ? loadFunction(r.zync) : ""].join("");
    const framed = (a: Reversible): Reversible => ({
        forward: prelude + a.forward,
        inverse: a.inverse ? prelude + a.inverse : "",
    });
    // A forward step waits for its rollouts and may then run its undo, which waits again.
    const rollouts = (n: number) => 2 * n * r.rolloutTimeoutSeconds + STEP_MARGIN_SECONDS;
    const steps: Unordered[] = [];
    const waves: ClusterWave[] = [];
    /** A step, and the cluster changes that follow it (named in its summary). */
    const step = (id: string, summary: string, action: Reversible, timeoutSeconds: number, then: readonly ClusterWave[] = [], notice?: string) => {
        const changes = then.length ? `; then ${changeList(then)}` : "";
        steps.push({ id, host: r.cluster, summary: summary + changes, action: framed(action), timeoutSeconds, notice });
        waves.push(...then);
    };
    const check = (id: string, summary: string, action: Reversible, timeoutSeconds: number) => {
        steps.push({ id, host: r.cluster, kind: "check", summary, action: framed(action), timeoutSeconds });
    };
    if (r.redis) {
        const x = r.redis;
        const users = x.configUsers.join(", ");
        const off = REDIS_STEPS.persistenceOff;
        step(off, `${x.configMap}: keep the text, write it with the save lines commented out, save "", appendonly no`,
            persistenceOff(x), rollouts(x.configUsers.length),
            persistenceChanges(x, "persistence-off", { step: off, key: "off" }, { step: off, key: "at" }),
            `${users} restart without persistence: writes until the config is back live in memory only`);
        check(REDIS_STEPS.offLive, `${users}: run without persistence (CONFIG GET); one that got the old text rolled out again`,
            persistenceLive(x, "off"), rollouts(CONFIG_ROLLOUT_ATTEMPTS * x.configUsers.length));
        for (const { deployment, backup } of x.restore) {
            step(REDIS_STEPS.swap(deployment), `${deployment}: dump.rdb and appendonly.aof to -old, copy in ${backup}, roll out`,
                swapData(x, deployment, backup), rollouts(2), [], `${deployment} restarts and serves the backup's data`);
        }
        for (const user of x.configUsers) {
            step(REDIS_STEPS.rewrite(user), `${user}: BGREWRITEAOF, wait for aof_rewrite_in_progress:0`, rewriteAof(user), rollouts(2));
        }
        const on = REDIS_STEPS.persistenceOn;
        step(on, `${x.configMap}: keep the text without persistence`, persistenceOn(x), rollouts(x.configUsers.length),
            persistenceChanges(x, "persistence-on", { step: off, key: "before" }, { step: on, key: "at" }), `${users} restart`);
        check(REDIS_STEPS.onLive, `${users}: run with the save lines and appendonly of the text from before (CONFIG GET)`,
            persistenceLive(x, "before"), rollouts(CONFIG_ROLLOUT_ATTEMPTS * x.configUsers.length));
    }
    if (r.zync) {
        const z = r.zync;
        const consumers = z.consumers.join(", ");
        step(ZYNC_STEPS.scaleDown, `${consumers}: keep the replica counts`, scaleDown(z), rollouts(z.consumers.length),
            [scaleChanges(z, ZYNC_STEPS.scaleDown, "zero")], `${consumers} stop`);
        step(ZYNC_STEPS.load, `${z.databaseDeployment}: once ${consumers} have no pod, dump ${z.database} as it is, copy in ${z.backup}, gunzip into psql`,
            loadDump(z), LOAD_TIMEOUT_SECONDS + rollouts(1 + z.consumers.length));
        step(ZYNC_STEPS.scaleUp, `${consumers}: check the kept counts`, scaleUp(z), rollouts(z.consumers.length),
            [scaleChanges(z, ZYNC_STEPS.scaleUp, "kept")]);
    }
    if (r.dependants.length) {
        const at: Emitted = { step: ROLLOUT_DEPENDANTS_STEP, key: "at" };
        step(ROLLOUT_DEPENDANTS_STEP, `note when the dependants roll out`,
            { forward: sh`mw_emit at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"\n`, inverse: sh`mw_unforce deployment ${r.dependants}\nmw_rollout ${r.dependants}\n` },
            rollouts(r.dependants.length),
            [{ after: ROLLOUT_DEPENDANTS_STEP, changes: r.dependants.map((d) => ({ kind: "rollout", id: `${d}-rollout`, deployment: d, phase: "restored", at }) as const) }],
            `${r.dependants.join(", ")} restart`);
    }
    // A DeploymentPatch's own wait can report a rollout done before its pods exist: seen on
    // Recreate rollouts caught between the old pods' scale-down and the new ReplicaSet ("Replicas
    // scaled to 0", then "Deployment initialization complete", no pod schedulable). `kubectl
    // rollout status` waits for the new generation's pods. The Redis rollouts have their checks.
    const settled = [...(r.zync?.consumers ?? []), ...r.dependants];
    if (settled.length) {
        check(RESTORED_READY_STEP, `${settled.join(", ")}: rolled out and ready (kubectl rollout status)`,
            { forward: sh`mw_wait_ready ${settled}\n`, inverse: "" }, rollouts(settled.length));
    }
    return { component: name, steps: sequence(steps), waves };
}
