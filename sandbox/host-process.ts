import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HOST_OWN_DIRS, hostPaths, netnsName, SandboxSettings } from "./config";
import { namespacePids } from "./network";
import { run, RunResult, sleep, waitFor } from "./run";

const BOOT_SCRIPT = path.join(__dirname, "host-boot.sh");

/** The environment a command on a host starts with, like a fresh root login. */
export const HOST_ENV = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    USER: "root",
    LOGNAME: "root",
};

/**
 * Root-namespace pid of the host's pid 1 (tini), if that process is alive and really in the
 * host's network namespace; a stale pid file from a previous boot yields undefined.
 */
export function hostInitPid(s: SandboxSettings, host: string): number | undefined {
    const file = hostPaths(s, host).initPid;
    try {
        const pid = Number(fs.readFileSync(file, "utf8").trim());
        const netns = fs.statSync(`/run/netns/${netnsName(host)}`).ino;
        const procNet = fs.statSync(`/proc/${pid}/ns/net`).ino;
        const comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        return netns === procNet && comm === "tini" ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** Whether the host is booted: pid 1 alive and the boot script finished (sshd started). */
export function hostIsUp(s: SandboxSettings, host: string): boolean {
    const pid = hostInitPid(s, host);
    return pid !== undefined && fs.existsSync(`/proc/${pid}/root/run/sandbox-ready`);
}

/**
 * Boots a host: new pid, mount, UTS and IPC namespaces inside its network namespace, with
 * tini as pid 1 (so daemons that exit are reaped and `kill -0` on a pid file tells the truth),
 * then host-boot.sh binds the host's own dirs, starts sshd and the boot services.
 */
export async function bootHost(s: SandboxSettings, host: string): Promise<void> {
    if (hostIsUp(s, host)) return;
    const hp = hostPaths(s, host);
    const log = fs.openSync(hp.bootLog, "a");
    const child = spawn(
        "ip",
        ["netns", "exec", netnsName(host),
            "unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--ipc", "--propagation", "private", "--mount-proc",
            "tini", "--", "/bin/sh", BOOT_SCRIPT, host, hp.dir, hp.sshdConfig],
        {
            cwd: "/",
            detached: true,
            stdio: ["ignore", log, log],
            env: { ...HOST_ENV, SANDBOX_OWN_DIRS: HOST_OWN_DIRS.join(" ") },
        },
    );
    child.unref();
    fs.closeSync(log);
    const unsharePid = child.pid;
    if (unsharePid === undefined) throw new Error(`${host}: could not start its init`);
    let tini: number | undefined;
    await waitFor(async () => {
        tini = childOf(unsharePid);
        return tini !== undefined;
    }, 20000, 20); // a loaded 2-core machine has been seen to take over 5 s to fork it
    if (tini === undefined) throw new Error(`${host}: its init did not start; see ${hp.bootLog}`);
    fs.writeFileSync(hp.initPid, `${tini}\n`);
    const ready = await waitFor(async () => fs.existsSync(`/proc/${tini}/root/run/sandbox-ready`) || !fs.existsSync(`/proc/${tini}`), 60000, 50);
    if (!ready || !hostIsUp(s, host)) {
        const tail = fs.readFileSync(hp.bootLog, "utf8").trim().split("\n").slice(-10).join("\n");
        throw new Error(`${host}: boot did not finish:\n${tail}`);
    }
}

/** Starts the host's sshd again if it died while the host kept running. */
export async function ensureSshd(s: SandboxSettings, host: string): Promise<void> {
    const config = hostPaths(s, host).sshdConfig;
    const r = await execOnHost(s, host,
        `[ -f /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null || /usr/sbin/sshd -f ${config} -E /var/log/sshd.log`);
    if (r.code !== 0) throw new Error(`${host}: sshd did not start: ${r.stderr.trim()}`);
}

function childOf(pid: number): number | undefined {
    try {
        const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
        return kids ? Number(kids.split(" ")[0]) : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Stops every process of a host at once, by pid with SIGKILL, as a crash or power-off would:
 * nothing gets to save, flush or clean up (a SIGTERM first would let Redis save its data and
 * scripts write their journal lines); the host's disks (its dirs and /app) stay.
 */
export async function haltHost(s: SandboxSettings, host: string): Promise<void> {
    await killNamespace(netnsName(host), ["SIGKILL"]);
    fs.rmSync(hostPaths(s, host).initPid, { force: true });
}

/** Kills every process in a network namespace, by pid: TERM, then KILL after a grace period (or only the given signals). */
export async function killNamespace(ns: string, signals: readonly ("SIGTERM" | "SIGKILL")[] = ["SIGTERM", "SIGKILL"]): Promise<void> {
    for (const signal of signals) {
        const pids = await namespacePids(ns);
        if (pids.length === 0) return;
        for (const pid of pids) {
            try {
                process.kill(pid, signal);
            } catch {
                // already gone
            }
        }
        await waitFor(async () => (await namespacePids(ns)).length === 0, signal === "SIGTERM" ? 5000 : 2000, 50);
    }
    await sleep(50);
    const left = await namespacePids(ns);
    if (left.length) throw new Error(`${ns}: processes ${left.join(" ")} survived SIGKILL`);
}

/** Options for {@link execOnHost}. */
export interface ExecOptions {
    /** Sent to the command's stdin. @default - empty stdin */
    readonly input?: string | Buffer | AsyncIterable<string | Buffer>;
    /** Kill the command after this many milliseconds. @default - no limit */
    readonly timeoutMs?: number;
}

/** Runs `sh -c cmd` on a host, in all of its namespaces, with a clean root environment. */
export async function execOnHost(s: SandboxSettings, host: string, cmd: string, opts: ExecOptions = {}): Promise<RunResult> {
    const pid = hostInitPid(s, host);
    if (pid === undefined) throw new Error(`${host} is down (run: sandbox up, or sandbox fault ${host} up)`);
    return run(
        "nsenter",
        ["-t", String(pid), "-n", "-m", "-u", "-i", "-p", "--wd=/", "--", "/bin/sh", "-c", cmd],
        { env: HOST_ENV, input: opts.input, timeoutMs: opts.timeoutMs },
    );
}
