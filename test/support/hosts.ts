/**
 * Sandbox hosts for the core's real-host tests: a re-entrant `up` that never tears down what is
 * there, SSH targets with the pinned host keys from the inventory, and running a Step's script
 * exactly as the Step provider does (rendered, framed, over SSH).
 */
import * as fs from "fs";
import { Inventory, InventoryHost, setQuiet, up } from "../../sandbox";
import { settingsFromEnv } from "../../sandbox/config";
import { readRecord } from "../../sandbox/record";
import { Direction, remoteCommand, renderScript } from "../../lib/core/script";
import { runOverSsh, SshResult, SshTarget } from "../../tools/ssh";

/**
 * Brings the sandbox up, or makes sure the running one works, without changing its shape:
 * at least 2 hosts (more when it already has more), carrying the site they carry (bare hosts
 * when the sandbox was down: the tests that use this need hosts, not a site's data). Safe
 * whether or not the sandbox is up.
 */
export async function sandboxUp(): Promise<Inventory> {
    setQuiet(true);
    const record = readRecord(settingsFromEnv());
    return up({ hosts: Math.max(2, record?.hosts.length ?? 0) });
}

/** The inventory's entry of host `name`. */
export function hostOf(inv: Inventory, name: string): InventoryHost {
    const h = inv.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`the sandbox has no host ${name}`);
    return h;
}

/** How the Step provider would reach a host: its address and port, the key and the pinned host key. */
export function sshTarget(h: InventoryHost): SshTarget {
    return {
        host: h.address,
        port: h.port,
        user: h.user,
        privateKey: fs.readFileSync(h.privateKeyPath, "utf8"),
        hostKey: h.hostPublicKey,
    };
}

/** What {@link runStepScript} runs. */
export interface StepScript {
    readonly component: string;
    readonly step: string;
    readonly direction: Direction;
    /** The action body (`Reversible.forward` or `.inverse`). */
    readonly body: string;
    /** Data for stdin: secrets and file contents. */
    readonly stdin?: string;
    /** @default - 120 s */
    readonly timeoutSeconds?: number;
}

/** The exact command string the Step sends over SSH for `s` (see lib/core/step.ts). */
export function stepCommand(s: StepScript): string {
    return remoteCommand(renderScript({ component: s.component, step: s.step, direction: s.direction, body: s.body }));
}

/** Runs one direction of a step on a host over SSH, as the Step provider does. */
export function runStepScript(target: SshTarget, s: StepScript): Promise<SshResult> {
    return runOverSsh(target, stepCommand(s), {
        stdin: s.stdin,
        timeoutSeconds: s.timeoutSeconds ?? 120,
        dialAttempts: 3,
        dialIntervalSeconds: 1,
    });
}
