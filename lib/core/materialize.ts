/**
 * Turns a plan into Step resources: one readiness poll per host, every step of that host
 * waiting on it, and `after` turned into `dependsOn`.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import { checkName, Problems } from "./validate";
import type { HostArgs } from "./host";
import { inOrder, Plan } from "./plan";
import { DEFAULT_DIAL_ATTEMPTS, Step } from "./step";

/** Connection attempts (2 s apart) of the readiness poll: a host being rebooted gets a minute. */
export const READY_DIAL_ATTEMPTS = 30;

/** The step id of a host's readiness poll. */
export const READY_STEP = "ready";

/** The resources of a plan. */
export interface Materialized {
    /** Every step by id, readiness polls included as `<host>/ready`. */
    readonly steps: ReadonlyMap<string, Step>;
}

/**
 * Creates the steps of `plan` as children of `parent`, named `${component}-${host}-${id}`.
 *
 * @param plan - the plan; validated here (ids, hosts, order) before any resource exists
 * @param hosts - the hosts the plan names, by inventory name
 * @param parent - the component resource
 */
export function materialize(plan: Plan, hosts: ReadonlyMap<string, HostArgs>, parent: pulumi.Resource): Materialized {
    const ordered = inOrder(plan);
    const p = new Problems();
    for (const s of ordered) {
        p.check(`steps.${s.id}.id`, s.id, checkName);
        if (!hosts.has(s.host)) p.add(`steps.${s.id}.host`, `must be one of ${[...hosts.keys()].join(", ")}`, s.host);
    }
    p.throwIfAny(plan.component);

    const steps = new Map<string, Step>();
    const ready = new Map<string, Step>();
    const readiness = (hostName: string): Step => {
        let r = ready.get(hostName);
        if (!r) {
            r = new Step(
                `${plan.component}-${hostName}-${READY_STEP}`,
                {
                    host: hosts.get(hostName)!,
                    component: plan.component,
                    step: READY_STEP,
                    action: { forward: ":", inverse: "" },
                    dialAttempts: READY_DIAL_ATTEMPTS,
                },
                { parent },
            );
            ready.set(hostName, r);
            steps.set(`${hostName}/${READY_STEP}`, r);
        }
        return r;
    };
    for (const s of ordered) {
        const step = new Step(
            `${plan.component}-${s.host}-${s.id}`,
            {
                host: hosts.get(s.host)!,
                component: plan.component,
                step: s.id,
                action: s.action,
                stdin: s.stdin,
                triggers: s.triggers ? [...s.triggers] : undefined,
                redoWhenStdinChanges: s.redoWhenStdinChanges,
                timeoutSeconds: s.timeoutSeconds,
                dialAttempts: DEFAULT_DIAL_ATTEMPTS,
            },
            {
                parent,
                dependsOn: [readiness(s.host), ...(s.after ?? []).map((id) => steps.get(id)!)],
                deleteBeforeReplace: (s.replace ?? "inverse-first") === "inverse-first",
                protect: s.protect ?? false,
            },
        );
        steps.set(s.id, step);
    }
    return { steps };
}
