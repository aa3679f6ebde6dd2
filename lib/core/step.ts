/**
 * A Step: one reversible action on one host, as a Pulumi resource. Creating it runs the
 * forward script on the host; deleting it runs the inverse. Pulumi's state therefore holds
 * exactly the steps that completed, and `destroy` undoes them in reverse dependency order.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Reversible } from "./actions/reversible";
import { connectionOf, HostArgs } from "./host";
import { remoteCommand, renderScript } from "./script";
import { StepState, stepProvider } from "./step-provider";

/** Default time limit of one forward or inverse script. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 600;
/** Default connection attempts, 2 s apart, before a host counts as unreachable. */
export const DEFAULT_DIAL_ATTEMPTS = 5;

/** Arguments of a {@link Step}. */
export interface StepArgs {
    /** The host the step runs on. */
    readonly host: HostArgs;
    /** Component (topology instance) the step belongs to; written to the host's journal. */
    readonly component: string;
    /** The step's name within the component, e.g. `backup-redis-data`. */
    readonly step: string;
    /**
     * The forward body and its inverse (POSIX sh bodies, see `lib/core/actions`).
     * An empty inverse (`""`) marks a step with nothing to undo, such as a check.
     */
    readonly action: Reversible;
    /**
     * Data for the scripts' stdin: secrets (one per line, read with `readSecretFromStdin`) and
     * file contents. Pass secrets as `pulumi.secret(...)`: they stay encrypted in the state.
     * @default - empty stdin
     */
    readonly stdin?: pulumi.Input<string>;
    /**
     * Values whose change redoes the step (inverse, then forward): what its outcome depends on,
     * such as a version or a config value. A change of the scripts alone updates the step in
     * place without running anything.
     * @default - the step is never redone
     */
    readonly triggers?: pulumi.Input<unknown>[];
    /**
     * Redo the step when its stdin changes, as for a config file whose content arrives on
     * stdin. The stdin's SHA-256 joins the triggers, as a secret.
     * @default - false: a changed stdin is recorded without running anything (a step that only
     * reads a password from it must not be redone when the password is rotated)
     */
    readonly redoWhenStdinChanges?: boolean;
    /** @default - 600 seconds ({@link DEFAULT_STEP_TIMEOUT_SECONDS}) */
    readonly timeoutSeconds?: number;
    /** @default - 5 attempts ({@link DEFAULT_DIAL_ATTEMPTS}) */
    readonly dialAttempts?: number;
}

function stdinDigest(stdin: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(stdin ?? "").apply((text) => createHash("sha256").update(text).digest("hex")));
}

type StepInputs = { [K in keyof StepState]: pulumi.Input<StepState[K]> | undefined };

/** One reversible action on one host. */
export class Step extends pulumi.dynamic.Resource {
    /** stdout of the forward script (its tail). */
    declare readonly stdout: pulumi.Output<string>;
    /** The host's inventory name. */
    declare readonly host: pulumi.Output<string>;

    /**
     * @param name - unique resource name; components use `${component}-${host}-${step}`
     * @param args - the step
     * @param opts - `dependsOn` orders steps; `deleteBeforeReplace` decides how a changed step is redone
     */
    constructor(name: string, args: StepArgs, opts?: pulumi.CustomResourceOptions) {
        const script = (direction: "forward" | "inverse", body: string) =>
            remoteCommand(renderScript({ component: args.component, step: args.step, direction, body }));
        const inputs: StepInputs = {
            component: args.component,
            step: args.step,
            host: args.host.name,
            connection: connectionOf(args.host),
            create: script("forward", args.action.forward),
            delete: args.action.inverse ? script("inverse", args.action.inverse) : undefined,
            stdin: args.stdin,
            triggers: args.redoWhenStdinChanges ? [...(args.triggers ?? []), stdinDigest(args.stdin)] : args.triggers,
            timeoutSeconds: args.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS,
            dialAttempts: args.dialAttempts ?? DEFAULT_DIAL_ATTEMPTS,
            stdout: undefined,
            ranDelete: undefined,
        };
        super(stepProvider, name, inputs, { ...opts, additionalSecretOutputs: ["connection"] });
    }
}
