import * as fs from "fs";
import { progress } from "./progress";
import { must, run, sleep } from "./run";

/** Debian packages the sandbox installs when missing. */
export const PACKAGES: readonly string[] = [
    "openssh-server",
    "openssh-client",
    "redis-server",
    "redis-tools",
    "keepalived",
    "nginx",
    "iproute2",
    "procps",
    "tini",
    "util-linux",
];

/** Daemons whose packages would start them in the root namespace on install. */
const PACKAGE_DAEMONS = new Set(["sshd", "redis-server", "keepalived", "nginx"]);

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

/** Throws a clear error unless running as root; called before anything is touched. */
export function requireRoot(): void {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        throw new Error("the sandbox creates network namespaces, bridges and mounts: run it as root");
    }
}

/** Packages from {@link PACKAGES} that dpkg does not list as installed. */
export async function missingPackages(): Promise<string[]> {
    const r = await run("dpkg-query", ["-W", "-f", "${Package} ${Status}\n", ...PACKAGES]);
    const installed = new Set(
        r.stdout
            .split("\n")
            .filter((l) => l.endsWith(" install ok installed"))
            .map((l) => l.split(" ")[0]),
    );
    return PACKAGES.filter((p) => !installed.has(p));
}

/**
 * Installs missing packages with `apt-get`, keeping their daemons from starting in the root
 * namespace: a policy-rc.d that denies starts while installing, and any such daemon that
 * appears anyway is stopped by pid.
 */
export async function ensurePackages(): Promise<void> {
    const missing = await missingPackages();
    if (missing.length === 0) return;
    progress(`installing ${missing.join(" ")} (apt-get; this takes a minute)`);
    const before = rootDaemonPids();
    const ownPolicy = !fs.existsSync(POLICY_RC_D);
    if (ownPolicy) fs.writeFileSync(POLICY_RC_D, "#!/bin/sh\n# written by the sandbox during its install\nexit 101\n", { mode: 0o755 });
    try {
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        progress("apt-get update");
        const upd = await run("apt-get", ["update", "-q"], { env });
        if (upd.code !== 0) throw new Error(`apt-get update failed: ${upd.stderr.trim()}`);
        progress(`apt-get install ${missing.join(" ")}`);
        const inst = await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env });
        if (inst.code !== 0) {
            throw new Error(`cannot install sandbox prerequisites (${missing.join(", ")}): ${inst.stderr.trim().split("\n").slice(-5).join("\n")}`);
        }
    } finally {
        if (ownPolicy) fs.rmSync(POLICY_RC_D, { force: true });
    }
    await stopNewDaemons(before);
    const still = await missingPackages();
    if (still.length) throw new Error(`packages still missing after install: ${still.join(", ")}`);
    progress("packages installed");
}

/** Checks the tools the sandbox drives directly are present. */
export async function requireTools(): Promise<void> {
    for (const tool of ["ip", "unshare", "nsenter", "mount", "umount", "flock"]) {
        const r = await run("sh", ["-c", `command -v ${tool}`]);
        if (r.code !== 0) throw new Error(`required tool ${tool} is not on PATH`);
    }
}

function rootDaemonPids(): Set<number> {
    const rootNet = fs.readlinkSync("/proc/self/ns/net");
    const pids = new Set<number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const comm = fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim();
            if (PACKAGE_DAEMONS.has(comm) && fs.readlinkSync(`/proc/${entry}/ns/net`) === rootNet) pids.add(Number(entry));
        } catch {
            // the process ended while we looked
        }
    }
    return pids;
}

async function stopNewDaemons(before: Set<number>): Promise<void> {
    const started = [...rootDaemonPids()].filter((p) => !before.has(p));
    for (const pid of started) {
        progress(`stopping daemon pid ${pid} that a package started in the root namespace`);
        await must("kill", ["-TERM", String(pid)]).catch(() => undefined);
    }
    if (started.length) await sleep(500);
}
