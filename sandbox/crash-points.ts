/**
 * Crashing a host at an exact point inside a step's script: the test arms one crash point
 * (see `crashPoint` in lib/core/actions/reversible.ts) by writing a file into the host's state
 * dir, the script that reaches that point stops there, and the sandbox kills the host (every
 * process, SIGKILL) the moment it sees the point reached. The host's state dir is one of its
 * own dirs, bound from the sandbox's state dir, so arming and watching are plain file
 * operations in the root namespace: no process on the host is involved.
 *
 * @module
 */
import * as fs from "fs";
import * as path from "path";
import { hostPaths, SandboxSettings, settingsFromEnv } from "./config";
import { fault } from "./faults";
import { requireHost } from "./lifecycle";
import { sleep } from "./run";

/** The state dir the steps use on the hosts (`DEFAULT_STATE_DIR` of lib/core/script.ts). */
const HOST_STATE_DIR = "/var/lib/middleware";
/** The files of `crashPoint` (`CRASH_POINT_FILE`, `CRASH_POINT_REACHED_FILE`). */
const ARMED = "crash-point";
const REACHED = "crash-point.reached";

/** One point in one direction of one step. */
export interface CrashPointRef {
    readonly component: string;
    readonly step: string;
    readonly direction: "forward" | "inverse";
    /** The point's name, as in the script's `# crash point: NAME`. */
    readonly point: string;
}

function stateDirOf(s: SandboxSettings, host: string): string {
    return path.join(hostPaths(s, host).fs, HOST_STATE_DIR);
}

/** Arms one crash point on `host` (any point armed before is replaced). */
export function armCrashPoint(host: string, ref: CrashPointRef): void {
    const s = settingsFromEnv();
    requireHost(s, host);
    const dir = stateDirOf(s, host);
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(path.join(dir, REACHED), { force: true });
    const tmp = path.join(dir, `${ARMED}.tmp`);
    fs.writeFileSync(tmp, `${ref.component} ${ref.step} ${ref.direction} ${ref.point}`, { mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, ARMED));
}

/** Disarms `host`'s crash point, whether or not it was reached; true if it had been reached. */
export function disarmCrashPoint(host: string): boolean {
    const dir = stateDirOf(settingsFromEnv(), host);
    const reached = fs.existsSync(path.join(dir, REACHED));
    for (const f of [ARMED, REACHED]) fs.rmSync(path.join(dir, f), { force: true });
    return reached;
}

/** A crash point on a host. */
export interface CrashTarget extends CrashPointRef {
    readonly host: string;
}

/**
 * Runs `op` (an `up`, a `destroy`, a script) with each of `targets` armed on its host (one per
 * host); kills a host as soon as a script reaches its point, and leaves it down until `op` has
 * ended. Resolves with what `op` resolved or rejected with, and the hosts it crashed.
 */
export async function crashDuring<T>(targets: readonly CrashTarget[], op: () => Promise<T>): Promise<{ crashed: string[]; result?: T; error?: unknown }> {
    const hosts = targets.map((t) => t.host);
    if (new Set(hosts).size !== hosts.length) throw new Error(`crashDuring: one crash point per host (${hosts.join(", ")})`);
    const s = settingsFromEnv();
    for (const t of targets) armCrashPoint(t.host, t);
    let done = false;
    const crashed: string[] = [];
    const watch = async (host: string) => {
        const reached = path.join(stateDirOf(s, host), REACHED);
        while (!done) {
            if (fs.existsSync(reached)) {
                await fault(host, "down");
                crashed.push(host);
                return;
            }
            await sleep(5);
        }
    };
    const watchers = hosts.map(watch);
    let result: T | undefined;
    let error: unknown;
    try {
        result = await op();
    } catch (e) {
        error = e;
    }
    done = true;
    await Promise.all(watchers);
    for (const h of hosts) disarmCrashPoint(h);
    return { crashed, result, error };
}
