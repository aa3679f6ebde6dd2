import * as fs from "fs";
import { SandboxSettings } from "./config";
import { progress } from "./progress";
import { sleep } from "./run";

/*
 * Pid lock files: one sandbox command that changes things at a time (a test's `up` racing a
 * demo's `down` would leave half a namespace), one jar fetch per cache. A lock whose pid is
 * gone is taken over.
 */

/** Options of {@link withPidLock}. */
export interface PidLockOptions {
    /** How long to wait for another holder. */
    readonly timeoutMs: number;
    /** Says what the wait is for, once, e.g. `waiting for another sandbox command`. */
    readonly waiting: string;
}

/** Runs `fn` holding the pid lock `file`. */
export async function withPidLock<T>(file: string, fn: () => Promise<T>, opts: PidLockOptions): Promise<T> {
    const deadline = Date.now() + opts.timeoutMs;
    let told = false;
    for (;;) {
        try {
            fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
            break;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8").trim();
        } catch {
            continue; // released meanwhile
        }
        if (text === "") {
            await sleep(100); // created, pid not written yet
            continue;
        }
        const pid = Number(text);
        if (!(pid > 0 && fs.existsSync(`/proc/${pid}`))) {
            fs.rmSync(file, { force: true });
            continue;
        }
        if (Date.now() > deadline) throw new Error(`another process (pid ${pid}) holds ${file}`);
        if (!told) progress(`${opts.waiting} (pid ${pid})`);
        told = true;
        await sleep(200);
    }
    try {
        return await fn();
    } finally {
        fs.rmSync(file, { force: true });
    }
}

/**
 * Runs `fn` holding the sandbox's lock, waiting up to `timeoutMs` for another holder. The lock
 * file sits beside the state dir, so `down --purge` can remove the dir while holding it.
 */
export function withLock<T>(s: SandboxSettings, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
    return withPidLock(`${s.stateDir}.lock`, fn, { timeoutMs, waiting: "waiting for another sandbox command" });
}
