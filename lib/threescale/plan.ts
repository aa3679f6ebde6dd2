/**
 * The plan of a 3scale restore: the runbook's phases as steps on the cluster, in order. Redis
 * first (persistence off, each restored Redis's data swapped, every AOF rewritten, persistence
 * back), then zync (scale to 0, load, scale back), then the dependants rolled out. One after
 * the other, as the runbook does them: a failed phase stops what comes after it.
 *
 * @module
 */
import { sh } from "../core/shell";
import { Plan, PlannedStep } from "../core/plan";
import { sequence } from "../core/order";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedThreescaleRestore } from "./args";
import { kubectlPrelude } from "./kubectl-sh";
import { persistenceOff, persistenceOn, REDIS_STEPS, rewriteAof, rewriteAofFunction, rolloutConfigFunction, swapData } from "./redis-phases";
import { loadDump, loadFunction, scaleDown, scaleUp, ZYNC_STEPS } from "./zync-phases";

/** The step id of the dependants' rollout. */
export const ROLLOUT_DEPENDANTS_STEP = "rollout-dependants";

/** Seconds a step gets beyond its rollouts' time limits (kubectl calls, copies). */
const STEP_MARGIN_SECONDS = 300;

/** Time limit of the dump's load. */
const LOAD_TIMEOUT_SECONDS = 3600;

type Unordered = Omit<PlannedStep, "after">;

/** The plan of restore `name` on the cluster. */
export function planThreescaleRestore(name: string, r: ResolvedThreescaleRestore): Plan {
    const prelude = [kubectlPrelude(r), r.redis ? rewriteAofFunction() + rolloutConfigFunction() : "", r.zync ? loadFunction(r.zync) : ""].join("");
    const framed = (a: Reversible): Reversible => ({
        forward: prelude + a.forward,
        inverse: a.inverse ? prelude + a.inverse : "",
    });
    // A forward step waits for its rollouts and may then run its undo, which waits again.
    const rollouts = (n: number) => 2 * n * r.rolloutTimeoutSeconds + STEP_MARGIN_SECONDS;
    const step = (id: string, summary: string, action: Reversible, timeoutSeconds: number, notice?: string): Unordered => ({
        id, host: r.cluster, summary, action: framed(action), timeoutSeconds, notice,
    });
    const steps: Unordered[] = [];
    if (r.redis) {
        const x = r.redis;
        const users = x.configUsers.join(", ");
        steps.push(step(REDIS_STEPS.persistenceOff,
            `${x.configMap}: comment out the save lines, appendonly no (text kept); roll out ${users}`,
            persistenceOff(x), rollouts(2 * x.configUsers.length),
            `${users} restart without persistence: writes until the config is back live in memory only`));
        for (const { deployment, backup } of x.restore) {
            steps.push(step(REDIS_STEPS.swap(deployment),
                `${deployment}: dump.rdb and appendonly.aof to -old, copy in ${backup}, roll out`,
                swapData(x, deployment, backup), rollouts(2), `${deployment} restarts and serves the backup's data`));
        }
        for (const user of x.configUsers) {
            steps.push(step(REDIS_STEPS.rewrite(user), `${user}: BGREWRITEAOF, wait for aof_rewrite_in_progress:0`, rewriteAof(user), rollouts(2)));
        }
        steps.push(step(REDIS_STEPS.persistenceOn,
            `${x.configMap}: the text from before (save lines, appendonly yes); roll out ${users}`,
            persistenceOn(x), rollouts(x.configUsers.length), `${users} restart`));
    }
    if (r.zync) {
        const z = r.zync;
        const consumers = z.consumers.join(", ");
        steps.push(step(ZYNC_STEPS.scaleDown, `${consumers}: remember the replica counts, scale to 0`, scaleDown(z), rollouts(z.consumers.length),
            `${consumers} stop`));
        steps.push(step(ZYNC_STEPS.load, `${z.databaseDeployment}: dump ${z.database} as it is, copy in ${z.backup}, gunzip into psql`,
            loadDump(z), LOAD_TIMEOUT_SECONDS + rollouts(1)));
        steps.push(step(ZYNC_STEPS.scaleUp, `${consumers}: scale back to the remembered counts`, scaleUp(z), rollouts(z.consumers.length)));
    }
    if (r.dependants.length) {
        const body = sh`mw_rollout ${r.dependants}\n`;
        steps.push(step(ROLLOUT_DEPENDANTS_STEP, `roll out ${r.dependants.join(", ")}`, { forward: body, inverse: body },
            rollouts(r.dependants.length), `${r.dependants.join(", ")} restart`));
    }
    return { component: name, steps: sequence(steps) };
}
