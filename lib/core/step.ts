/**
 * A Step: one reversible action on one host, as an `@pulumi/command` remote Command. Creating
 * it runs the forward script on the host; deleting it runs the inverse. Pulumi's state
 * therefore holds exactly the steps that completed, and `destroy` undoes them in reverse
 * dependency order.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { remote } from "@pulumi/command";
import type { Reversible } from "./actions/reversible";
import { connectionOf, HostArgs } from "./host";
import { remoteCommand, renderScript } from "./script";

/** Default time limit of one forward or inverse script. */
export const DEFAULT_STEP_TIMEOUT_SECONDS = 600;
/** Default connection attempts before a host counts as unreachable. */
export const DEFAULT_DIAL_ATTEMPTS = 5;
/** Default time limit of one connection attempt. */
export const DEFAULT_DIAL_TIMEOUT_SECONDS = 10;
/**
 * What the engine allows a provider call beyond the script's own time limit: connecting
 * (attempts × their time limit) and the undo of a forward script that was stopped.
 */
export const ENGINE_TIMEOUT_MARGIN_SECONDS = 300;

/**
 * The inputs a Step keeps as they were when its forward script ran. A newer library may
 * render the scripts differently; the step then stays as it is, nothing runs, and a later
 * delete still runs the exact inverse of what was done. What a step's outcome depends on goes
 * into its `triggers`, whose change redoes it.
 */
export const KEPT_AS_RUN = ["create", "update", "delete"] as const;

/**
 * The `update` command of every Step: a changed connection (a rotated key, a new address) or
 * stdin (a rotated password) is recorded in place, and this is all that runs on the host.
 */
export const UPDATE_IN_PLACE = "true";

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
     * Values whose change redoes the step (inverse, then forward, or the reverse with
     * `deleteBeforeReplace: false`): what its outcome depends on, such as a version or a config
     * value. A change of the scripts alone leaves the step as it is.
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
    /**
     * Time limit of one forward or inverse script, enforced on the host (see `renderScript`).
     * The engine's `customTimeouts` allow {@link ENGINE_TIMEOUT_MARGIN_SECONDS} more.
     * @default - 600 seconds ({@link DEFAULT_STEP_TIMEOUT_SECONDS})
     */
    readonly timeoutSeconds?: number;
    /** @default - 5 attempts ({@link DEFAULT_DIAL_ATTEMPTS}) */
    readonly dialAttempts?: number;
}

function stdinDigest(stdin: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(stdin ?? "").apply((text) => createHash("sha256").update(text).digest("hex")));
}

/**
 * One reversible action on one host: a `command:remote:Command` whose `create` is the forward
 * script and whose `delete` is the inverse, both framed by `renderScript` (strict sh, host lock,
 * journal line, time limit; the forward script undoes itself when it fails).
 */
export class Step extends remote.Command {
    /**
     * @param name - unique resource name; components use `${component}-${host}-${step}`
     * @param args - the step
     * @param opts - `dependsOn` orders steps; `deleteBeforeReplace` decides how a changed step
     * is redone; `ignoreChanges` always holds {@link KEPT_AS_RUN}
     */
    constructor(name: string, args: StepArgs, opts?: pulumi.CustomResourceOptions) {
        const timeoutSeconds = args.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS;
        const frame = { component: args.component, step: args.step, host: args.host.name, timeoutSeconds };
        const inverse = args.action.inverse
            ? remoteCommand(renderScript({ ...frame, direction: "inverse", body: args.action.inverse }))
            : undefined;
        const engineTimeout = `${timeoutSeconds + ENGINE_TIMEOUT_MARGIN_SECONDS}s`;
        super(
            name,
            {
                connection: connectionOf(args.host, {
                    dialErrorLimit: args.dialAttempts ?? DEFAULT_DIAL_ATTEMPTS,
                    perDialTimeout: DEFAULT_DIAL_TIMEOUT_SECONDS,
                }),
                create: remoteCommand(renderScript({
                    ...frame,
                    direction: "forward",
                    body: args.action.forward,
                    undo: args.action.inverse || undefined,
                })),
                update: UPDATE_IN_PLACE,
                delete: inverse,
                stdin: args.stdin,
                triggers: args.redoWhenStdinChanges ? [...(args.triggers ?? []), stdinDigest(args.stdin)] : args.triggers,
                addPreviousOutputInEnv: false,
            },
            {
                ...opts,
                ignoreChanges: [...KEPT_AS_RUN, ...(opts?.ignoreChanges ?? [])],
                additionalSecretOutputs: ["stdin", ...(opts?.additionalSecretOutputs ?? [])],
                customTimeouts: { create: engineTimeout, update: engineTimeout, delete: engineTimeout, ...opts?.customTimeouts },
            },
        );
    }
}
