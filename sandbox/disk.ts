import * as fs from "fs";
import * as path from "path";
import { hostPaths, SandboxSettings } from "./config";
import { must } from "./run";

const FILLER = ".sandbox-disk-filler";
const SLACK = 1024 * 1024;

/**
 * Fills a host's /app so that writes fail with ENOSPC: the tmpfs is shrunk to what it holds
 * plus a little, and a filler file takes the rest. Shrinking first means filling costs no memory.
 */
export async function fillDisk(s: SandboxSettings, host: string): Promise<void> {
    const hp = hostPaths(s, host);
    if (fs.existsSync(hp.diskFill)) return;
    const st = fs.statfsSync(hp.app);
    const used = (st.blocks - st.bfree) * st.bsize;
    fs.writeFileSync(hp.diskFill, JSON.stringify({ size: s.appSize }) + "\n");
    await must("mount", ["-o", `remount,size=${used + SLACK}`, hp.app]);
    const fd = fs.openSync(path.join(hp.app, FILLER), "w");
    const chunk = Buffer.alloc(64 * 1024);
    try {
        for (let size = chunk.length; size >= 1; ) {
            try {
                fs.writeSync(fd, chunk, 0, size);
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
                size = Math.floor(size / 2);
            }
        }
    } finally {
        fs.closeSync(fd);
    }
}

/** Undoes {@link fillDisk}: removes the filler and gives /app its size back. */
export async function freeDisk(s: SandboxSettings, host: string): Promise<void> {
    const hp = hostPaths(s, host);
    if (!fs.existsSync(hp.diskFill)) return;
    const { size } = JSON.parse(fs.readFileSync(hp.diskFill, "utf8")) as { size: string };
    fs.rmSync(path.join(hp.app, FILLER), { force: true });
    await must("mount", ["-o", `remount,size=${size}`, hp.app]);
    fs.rmSync(hp.diskFill);
}

/** Whether a host's /app is currently filled by the sandbox. */
export function diskIsFilled(s: SandboxSettings, host: string): boolean {
    return fs.existsSync(hostPaths(s, host).diskFill);
}

/** Bytes used and total of a host's /app volume. */
export function diskUsage(s: SandboxSettings, host: string): { used: number; size: number } {
    const st = fs.statfsSync(hostPaths(s, host).app);
    return { used: (st.blocks - st.bfree) * st.bsize, size: st.blocks * st.bsize };
}
