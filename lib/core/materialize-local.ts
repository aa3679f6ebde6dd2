/**
 * Turns a plan whose steps all act through a client on the machine running Pulumi (kubectl
 * against a cluster) into {@link LocalStep} resources, `after` turned into `dependsOn`.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import { checkName, Problems } from "./validate";
import { inOrder, Plan } from "./plan";
import { LocalStep } from "./local-step";

/** Where and how the local steps of a plan run. */
export interface LocalTarget {
    /** What every step acts on (the plan's `host` of each step), e.g. the cluster's name. */
    readonly name: string;
    /** Environment of every script (`KUBECONFIG`, `PATH`). @default - the program's */
    readonly environment?: Record<string, pulumi.Input<string>>;
    /** Folder of the local journal. @default - `DEFAULT_LOCAL_STATE_DIR` */
    readonly stateDir?: string;
}

/** What {@link materializeLocal} does beyond creating the steps. */
export interface LocalStepOptions {
    /** Ids of the steps whose stdout may hold secrets (`LocalStepArgs.secretStdout`). @default - none */
    readonly secretStdout?: ReadonlySet<string>;
    /**
     * Called right after step `id` is created: resources it makes there (which may read the
     * step's outputs) are what the steps after `id` wait on, instead of the step itself.
     * @default - nothing is made between steps
     */
    readonly then?: (id: string, step: LocalStep) => pulumi.Resource[];
}

/**
 * Creates the steps of `plan` as children of `parent`, named `${component}-${target}-${id}`.
 *
 * @throws ConfigError when a step's id is not a name or it names another target
 */
export function materializeLocal(plan: Plan, target: LocalTarget, parent: pulumi.Resource, options: LocalStepOptions = {}): ReadonlyMap<string, LocalStep> {
    const ordered = inOrder(plan);
    const p = new Problems();
    for (const s of ordered) {
        p.check(`steps.${s.id}.id`, s.id, checkName);
        if (s.host !== target.name) p.add(`steps.${s.id}.host`, `must be ${target.name}`, s.host);
    }
    p.throwIfAny(plan.component);
    const steps = new Map<string, LocalStep>();
    const waitedOn = new Map<string, pulumi.Resource[]>();
    for (const s of ordered) {
        const step = new LocalStep(
            `${plan.component}-${s.host}-${s.id}`,
            {
                component: plan.component,
                step: s.id,
                target: target.name,
                action: s.action,
                environment: target.environment,
                stateDir: target.stateDir,
                stdin: s.stdin,
                triggers: s.triggers ? [...s.triggers] : undefined,
                timeoutSeconds: s.timeoutSeconds,
                secretStdout: options.secretStdout?.has(s.id),
            },
            { parent, dependsOn: (s.after ?? []).flatMap((id) => waitedOn.get(id)!), deleteBeforeReplace: (s.replace ?? "inverse-first") === "inverse-first" },
        );
        steps.set(s.id, step);
        const made = options.then?.(s.id, step) ?? [];
        waitedOn.set(s.id, made.length ? made : [step]);
    }
    return steps;
}
