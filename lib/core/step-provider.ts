/**
 * The dynamic provider behind every Step: `create` runs the forward command on the host,
 * `delete` runs the inverse, `diff` decides between replacing a step (its forward action or
 * triggers changed) and updating it in place without running anything (credentials, the inverse).
 *
 * Pulumi serializes this provider into the state of each step, so `destroy` runs the inverse
 * with the code that ran the forward action, even after the library was upgraded. Keep its
 * imports to `ssh2` and Node built-ins (through ./ssh).
 *
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import { runOverSsh, SshResult, SshTarget } from "./ssh";

/** What a step records in the state: its inputs and what its forward command printed. */
export interface StepState {
    /** Component the step belongs to. */
    readonly component: string;
    /** The step's name within the component. */
    readonly step: string;
    /** The host's inventory name. */
    readonly host: string;
    /** How to reach the host (secret: holds the private key). */
    readonly connection: SshTarget;
    /** Command that performs the step. */
    readonly create: string;
    /** Command that undoes it; absent for checks. */
    readonly delete?: string;
    /** Data for the commands' stdin (secret when it holds secrets). */
    readonly stdin?: string;
    /** Values whose change means the step must be redone. */
    readonly triggers?: unknown[];
    /** Time limit of one command. */
    readonly timeoutSeconds: number;
    /** Connection attempts before the host counts as unreachable. */
    readonly dialAttempts: number;
    /** stdout of the forward command (its tail). */
    readonly stdout?: string;
    /**
     * The inverse of the forward command that actually ran. A newer library may render the
     * scripts differently; the step then updates in place, and a later delete still runs the
     * exact inverse of what was done.
     */
    readonly ranDelete?: string;
}

/**
 * Input properties whose change redoes the step (inverse, then forward). A changed script
 * alone does not: upgrading the library must never roll a site back and forth. What a step's
 * outcome depends on goes into its `triggers`.
 */
export const REPLACE_ON_CHANGE = ["triggers", "host"] as const;

const OUTPUTS: readonly (keyof StepState)[] = ["stdout", "ranDelete"];

const DIAL_INTERVAL_SECONDS = 2;

function label(s: StepState): string {
    return `${s.component}/${s.step} on ${s.host}`;
}

function failure(s: StepState, what: string, r: SshResult): Error {
    const output = [r.stderr.trim(), r.stdout.trim()].filter((x) => x).join("\n");
    return new Error(`${label(s)}: ${what} failed with exit code ${r.code}${output ? `\n${output}` : ""}`);
}

async function run(s: StepState, command: string): Promise<SshResult> {
    return runOverSsh(s.connection, command, {
        stdin: s.stdin,
        timeoutSeconds: s.timeoutSeconds,
        dialAttempts: s.dialAttempts,
        dialIntervalSeconds: DIAL_INTERVAL_SECONDS,
    });
}

function same(a: unknown, b: unknown): boolean {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// The engine's wire format has no `undefined`: a step without an inverse records none.
function withInverse(outs: StepState, inverse: string | undefined): StepState {
    return inverse === undefined ? outs : { ...outs, ranDelete: inverse };
}

/** The Step provider. */
export const stepProvider: pulumi.dynamic.ResourceProvider<StepState, StepState> = {
    async create(inputs) {
        const result = await run(inputs, inputs.create);
        if (result.code !== 0) {
            // A forward action that failed half way is undone at once: the state will not hold
            // this step, so no later destroy would run its inverse. Inverses are guarded no-ops
            // for whatever the forward action did not get to.
            let undo = "";
            if (inputs.delete) {
                const undone = await run(inputs, inputs.delete).catch((e: Error) => e);
                undo = undone instanceof Error || undone.code !== 0
                    ? `\nundoing it failed too: ${undone instanceof Error ? undone.message : failure(inputs, "inverse", undone).message}`
                    : "\nits inverse ran and undid what it had done";
            }
            const err = failure(inputs, "forward action", result);
            err.message += undo;
            throw err;
        }
        return {
            id: `${inputs.component}/${inputs.host}/${inputs.step}`,
            outs: withInverse({ ...inputs, stdout: result.stdout }, inputs.delete),
        };
    },

    async delete(_id, state) {
        const inverse = "ranDelete" in state ? state.ranDelete : state.delete;
        if (!inverse) return;
        const result = await run(state, inverse);
        if (result.code !== 0) throw failure(state, "inverse", result);
    },

    async diff(_id, olds, news) {
        const replaces = REPLACE_ON_CHANGE.filter((k) => !same(olds[k], news[k]));
        const changed = (Object.keys(news) as (keyof StepState)[]).some((k) => !OUTPUTS.includes(k) && !same(olds[k], news[k]));
        return { changes: changed || replaces.length > 0, replaces };
    },

    async update(_id, olds, news) {
        return { outs: withInverse({ ...news, stdout: olds.stdout }, "ranDelete" in olds ? olds.ranDelete : olds.delete) };
    },
};
