import { spawn } from "child_process";
import * as fs from "fs";
import { progress } from "../progress";

/** What one `mvn` run did. */
export interface MavenRun {
    readonly code: number;
    readonly downloads: number;
    /** `[ERROR]` lines, without the prefix and Maven's help pointers. */
    readonly errors: string[];
    readonly tail: string[];
}

/** Options of {@link runMaven}. */
export interface MavenRunOptions {
    /** Prefix of the progress lines, e.g. `jars`. */
    readonly label: string;
    /** What is being fetched, for the error when mvn is missing, e.g. `the Kafka/ZooKeeper jars`. */
    readonly what: string;
    /** @default - 20 minutes, then SIGKILL */
    readonly timeoutMs?: number;
}

/** Runs mvn, logging to `logFile`, with a progress line every 10 s. */
export function runMaven(args: readonly string[], cwd: string, logFile: string, opts: MavenRunOptions): Promise<MavenRun> {
    return new Promise((resolve, reject) => {
        const log = fs.openSync(logFile, "w");
        fs.writeSync(log, `$ mvn ${args.join(" ")}\n`);
        const child = spawn("mvn", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
        let downloads = 0;
        let bytes = 0;
        let partial = "";
        const errors: string[] = [];
        const tail: string[] = [];
        const onData = (b: Buffer) => {
            fs.writeSync(log, b);
            const lines = (partial + b.toString("utf8")).split("\n");
            partial = lines.pop() ?? "";
            for (const line of lines) {
                tail.push(line);
                if (tail.length > 10) tail.shift();
                const d = /^\[INFO\] Downloaded from [^:]+: \S+ \(([\d.]+) (B|kB|MB)/.exec(line);
                if (d) {
                    downloads++;
                    bytes += Number(d[1]) * ({ B: 1, kB: 1e3, MB: 1e6 } as Record<string, number>)[d[2]];
                }
                const e = /^\[ERROR\] (.*\S)/.exec(line);
                if (e && !/^(To see the full|Re-run Maven|For more information|\[Help \d\]|-> \[Help)/.test(e[1])) {
                    errors.push(e[1].replace(/ -> \[Help \d+\]$/, ""));
                }
            }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        const timer = setInterval(() => progress(`${opts.label}: mvn running, ${downloads} files (${(bytes / 1e6).toFixed(1)} MB) downloaded so far`), 10000);
        const limit = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 20 * 60 * 1000);
        child.on("error", (e: NodeJS.ErrnoException) => {
            clearInterval(timer);
            clearTimeout(limit);
            fs.closeSync(log);
            reject(e.code === "ENOENT" ? new Error(`cannot fetch ${opts.what}: mvn is not on PATH (Debian package maven)`) : e);
        });
        child.on("close", (code, signal) => {
            clearInterval(timer);
            clearTimeout(limit);
            fs.closeSync(log);
            resolve({ code: code ?? (signal === "SIGKILL" ? 137 : 128), downloads, errors, tail });
        });
    });
}

/** The first `[ERROR]` lines of a failed run, or its last lines when it printed none. */
export function mavenErrors(r: MavenRun): string {
    return r.errors.length ? r.errors.slice(0, 3).join("\n  ") : r.tail.join("\n  ");
}
