/**
 * Test helpers that run generated shell for real with the local /bin/sh (dash on Debian),
 * in temporary directories.
 */
import { spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Direction, renderScript } from "../../../lib/core/script";

/** Outcome of one shell run. */
export interface Run {
    readonly status: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: Buffer;
    readonly stderr: string;
}

// Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN); longer scripts go in on stdin.
const MAX_ARG_BYTES = 120_000;

/** Runs `sh -c script` synchronously; stdin from `input`. */
export function runSh(script: string, input: string | Buffer = "", env: NodeJS.ProcessEnv = process.env): Run {
    const viaStdin = Buffer.byteLength(script) > MAX_ARG_BYTES;
    if (viaStdin && input.length > 0) throw new Error("runSh: a script this long cannot also take stdin");
    const r = viaStdin
        ? spawnSync("/bin/sh", ["-s"], { input: script, env, maxBuffer: 64 * 1024 * 1024 })
        : spawnSync("/bin/sh", ["-c", script], { input, env, maxBuffer: 64 * 1024 * 1024 });
    // EPIPE: the script ended without reading all of its stdin (a refusal before it reads), which
    // its status reports; Node says so only when the exit beat its write (about 1 run in 8).
    if (r.error && (r.error as NodeJS.ErrnoException).code !== "EPIPE") throw r.error;
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Runs `sh -c script` without blocking the event loop (for lock and TCP tests). */
export function runShAsync(script: string, input = "", env: NodeJS.ProcessEnv = process.env): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", script], { env });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", reject);
        child.on("close", (status, signal) =>
            resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
        child.stdin.end(input);
    });
}

const made: string[] = [];

/** A fresh temporary directory, removed by {@link cleanTempDirs}. */
export function tempDir(prefix = "mw-core-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}
/** Removes every directory {@link tempDir} made (use in `afterEach`). */
export function cleanTempDirs(): void {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Renders a body as a complete script for a test state dir. */
export function script(body: string, stateDir: string, direction: Direction = "forward", step = "test-step"): string {
    return renderScript({ component: "test-component", step, direction, body, stateDir, lockTimeoutSeconds: 5 });
}

/** Every entry under `root` as `relative path → type, mode, owner, content hash or link target`. */
export function snapshot(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (dir: string) => {
        for (const name of fs.readdirSync(dir).sort()) {
            const full = path.join(dir, name);
            const st = fs.lstatSync(full);
            const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`;
            const rel = path.relative(root, full);
            if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(full)}`;
            else if (st.isDirectory()) {
                out[rel] = `dir ${meta}`;
                walk(full);
            } else out[rel] = `file ${meta} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`;
        }
    };
    walk(root);
    return out;
}

/** The lines of the journal in `stateDir`, split into fields. */
export function journal(stateDir: string): string[][] {
    const file = path.join(stateDir, "journal");
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
}
