/**
 * A LocalStep: one reversible action on the machine running Pulumi, as an `@pulumi/command`
 * local Command, for actions that drive a remote system through its own client (`kubectl`
 * against a cluster). The same contract as {@link Step}: creating it runs the forward script,
 * deleting it runs the inverse, both framed by `renderScript` (strict sh, lock, journal line,
 * undo on failure, time limit), with the journal and the steps' folders in a local directory.
 *
 * @module
 */
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import type { Reversible } from "./actions/reversible";
import { renderScript } from "./script";
import { DEFAULT_STEP_TIMEOUT_SECONDS, ENGINE_TIMEOUT_MARGIN_SECONDS, KEPT_AS_RUN, UPDATE_IN_PLACE } from "./step";

/**
 * Default folder of the local journal, lock and step folders: `~/.local/state/pulumi-middleware`
 * of the user running Pulumi. `destroy` must run where `up` ran (or with this folder copied):
 * inverses read what their forward scripts kept in it.
 */
export const DEFAULT_LOCAL_STATE_DIR = path.join(os.homedir(), ".local", "state", "pulumi-middleware");

/**
 * How the script runs: in a session of its own (`setsid --wait`, util-linux), so that the time
 * limit's signal reaches the whole process group (a hung `kubectl` included), as an SSH session
 * gives a remote Step.
 */
export const LOCAL_INTERPRETER = ["setsid", "--wait", "/bin/sh", "-c"] as const;

/** Arguments of a {@link LocalStep}. */
export interface LocalStepArgs {
    /** Component the step belongs to; written to the journal. */
    readonly component: string;
    /** The step's name within the component, e.g. `redis-config-no-persistence`. */
    readonly step: string;
    /**
     * What the step acts on, for the messages of a failed run (`<component>/<step> on <target>`),
     * e.g. the cluster's name.
     */
    readonly target: string;
    /** The forward body and its inverse (POSIX sh); an empty inverse marks a check. */
    readonly action: Reversible;
    /**
     * Environment of both scripts, such as `KUBECONFIG` and the `PATH` of the client.
     * @default - the environment of the Pulumi program only
     */
    readonly environment?: Record<string, pulumi.Input<string>>;
    /**
     * Local folder of the journal, lock and step folders.
     * @default - {@link DEFAULT_LOCAL_STATE_DIR}
     */
    readonly stateDir?: string;
    /** @default - empty stdin */
    readonly stdin?: pulumi.Input<string>;
    /** Values whose change redoes the step. @default - the step is never redone */
    readonly triggers?: pulumi.Input<unknown>[];
    /**
     * Time limit of one forward or inverse script.
     * @default - 600 seconds ({@link DEFAULT_STEP_TIMEOUT_SECONDS})
     */
    readonly timeoutSeconds?: number;
    /**
     * The forward script's stdout may hold secrets (a config file's text it tells the program):
     * it is not shown in the engine's output and is a secret output.
     * @default - false: stdout is shown as the script runs
     */
    readonly secretStdout?: boolean;
}

/** The forward and inverse scripts of a local step, as `LocalStep` runs them (exported for tests). */
export function renderLocalStep(args: LocalStepArgs): { create: string; delete?: string } {
    const stateDir = args.stateDir ?? DEFAULT_LOCAL_STATE_DIR;
    const frame = {
        component: args.component,
        step: args.step,
        host: args.target,
        stateDir,
        stdinDir: path.join(stateDir, "stdin"),
        timeoutSeconds: args.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS,
    };
    return {
        create: renderScript({ ...frame, direction: "forward", body: args.action.forward, undo: args.action.inverse || undefined }),
        delete: args.action.inverse ? renderScript({ ...frame, direction: "inverse", body: args.action.inverse }) : undefined,
    };
}

/**
 * One reversible action on the machine running Pulumi: a `command:local:Command` whose `create`
 * is the forward script and whose `delete` is the inverse.
 */
export class LocalStep extends local.Command {
    /**
     * @param name - unique resource name; components use `${component}-${target}-${step}`
     * @param args - the step
     * @param opts - `dependsOn` orders steps; `ignoreChanges` always holds the scripts
     */
    constructor(name: string, args: LocalStepArgs, opts?: pulumi.CustomResourceOptions) {
        const scripts = renderLocalStep(args);
        const engineTimeout = `${(args.timeoutSeconds ?? DEFAULT_STEP_TIMEOUT_SECONDS) + ENGINE_TIMEOUT_MARGIN_SECONDS}s`;
        super(
            name,
            {
                interpreter: [...LOCAL_INTERPRETER],
                create: scripts.create,
                update: UPDATE_IN_PLACE,
                delete: scripts.delete,
                environment: args.environment,
                stdin: args.stdin,
                triggers: args.triggers,
                addPreviousOutputInEnv: false,
                logging: args.secretStdout ? "stderr" : undefined,
            },
            {
                ...opts,
                ignoreChanges: [...KEPT_AS_RUN, "interpreter", ...(opts?.ignoreChanges ?? [])],
                additionalSecretOutputs: ["stdin", ...(args.secretStdout ? ["stdout"] : []), ...(opts?.additionalSecretOutputs ?? [])],
                customTimeouts: { create: engineTimeout, update: engineTimeout, delete: engineTimeout, ...opts?.customTimeouts },
            },
        );
    }
}
