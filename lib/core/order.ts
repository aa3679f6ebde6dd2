/**
 * Ordering rules shared by every procedure, as pure functions over planned steps.
 *
 * @module
 */
import type { PlannedStep } from "./plan";

function withAfter(step: PlannedStep, ids: readonly string[]): PlannedStep {
    const after = [...new Set([...(step.after ?? []), ...ids])];
    return { ...step, after };
}

/**
 * The pre-check gate: no change on any host starts before every check on every host has
 * passed. Every `change` step is made to wait on every `check` step; checks are unchanged.
 */
export function gate(steps: readonly PlannedStep[]): PlannedStep[] {
    const checks = steps.filter((s) => s.kind === "check").map((s) => s.id);
    return steps.map((s) => (s.kind === "check" ? s : withAfter(s, checks)));
}

/** Each step waits on the one before it. */
export function sequence(steps: readonly PlannedStep[]): PlannedStep[] {
    return steps.map((s, i) => (i === 0 ? s : withAfter(s, [steps[i - 1].id])));
}

/** The steps of one host in a rolling change, ending with the health check that releases the next host. */
export interface RollingHost {
    /** The host's changes, in order. */
    readonly steps: readonly PlannedStep[];
    /** A check that passes only when the host serves again. */
    readonly health: PlannedStep;
}

/**
 * A rolling change: hosts one at a time, in the given order. A host's first step waits on the
 * previous host's health check, so a host that does not come back healthy stops the roll.
 */
export function rolling(hosts: readonly RollingHost[]): PlannedStep[] {
    const out: PlannedStep[] = [];
    let previousHealth: string | undefined;
    for (const h of hosts) {
        const chain = sequence([...h.steps, h.health]);
        out.push(...(previousHealth ? [withAfter(chain[0], [previousHealth]), ...chain.slice(1)] : chain));
        previousHealth = h.health.id;
    }
    return out;
}
