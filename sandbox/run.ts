import { spawn } from "child_process";

/** Outcome of a finished command. */
export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
    /** Written to the command's stdin, then stdin is closed. @default - empty stdin */
    readonly input?: string | Buffer | AsyncIterable<string | Buffer>;
    /** Environment of the command. @default - this process's environment */
    readonly env?: NodeJS.ProcessEnv;
    /** Kill the command after this many milliseconds. @default - no limit */
    readonly timeoutMs?: number;
}

/** Runs a program (no shell) and collects its output; never throws on a non-zero exit. */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            resolve({
                code: code ?? (signal ? 128 : 1),
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            });
        });
        // A command that exits without reading its stdin must not crash us with EPIPE.
        child.stdin.on("error", () => undefined);
        feed(child.stdin, opts.input).catch(() => child.stdin.destroy());
    });
}

async function feed(stdin: NodeJS.WritableStream, input: RunOptions["input"]): Promise<void> {
    if (input === undefined) {
        stdin.end();
        return;
    }
    if (typeof input === "string" || Buffer.isBuffer(input)) {
        stdin.end(input);
        return;
    }
    for await (const chunk of input) {
        if (!stdin.write(chunk)) await new Promise((r) => stdin.once("drain", r));
    }
    stdin.end();
}

/** Runs a program and throws with its stderr when it fails. */
export async function must(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
    const r = await run(file, args, opts);
    if (r.code !== 0) {
        const detail = (r.stderr || r.stdout).trim();
        throw new Error(`${file} ${args.join(" ")} failed (exit ${r.code})${detail ? `: ${detail}` : ""}`);
    }
    return r.stdout;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last verdict. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await check()) return true;
        if (Date.now() > deadline) return false;
        await sleep(everyMs);
    }
}
