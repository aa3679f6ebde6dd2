import * as fs from "fs";
import { SandboxSettings } from "./config";
import { progress } from "./progress";
import { sleep } from "./run";

/*
 * One sandbox command that changes things at a time (a test's `up` racing a demo's `down`
 * would leave half a namespace). The lock file sits beside the state dir, so `down --purge`
 * can remove the dir while holding it; a lock whose pid is gone is taken over.
 */

function holder(file: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(file, "utf8").trim());
        return pid > 0 && fs.existsSync(`/proc/${pid}`) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** Runs `fn` holding the sandbox's lock, waiting up to `timeoutMs` for another holder. */
export async function withLock<T>(s: SandboxSettings, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
    const file = `${s.stateDir}.lock`;
    const deadline = Date.now() + timeoutMs;
    let told = false;
    for (;;) {
        try {
            fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
            break;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const pid = holder(file);
        if (pid === undefined) {
            fs.rmSync(file, { force: true });
            continue;
        }
        if (Date.now() > deadline) throw new Error(`another sandbox command (pid ${pid}) holds ${file}`);
        if (!told) progress(`waiting for another sandbox command (pid ${pid})`);
        told = true;
        await sleep(200);
    }
    try {
        return await fn();
    } finally {
        fs.rmSync(file, { force: true });
    }
}
