import * as fs from "fs";
import * as path from "path";
import { HOST_OWN_DIRS, hostPaths, SandboxSettings, statePaths } from "./config";
import { must, run } from "./run";

/** Mount points the hosts need in the root filesystem, besides their own dirs. */
const EXTRA_MOUNTPOINTS = ["/app"];

/** One line of /proc/self/mountinfo reduced to what the sandbox needs. */
interface MountEntry {
    readonly target: string;
    readonly fstype: string;
    readonly source: string;
}

function unescapeMount(s: string): string {
    return s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mounts of the root mount namespace (the one this process is in). */
export function rootMounts(): MountEntry[] {
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const [left, right] = line.split(" - ");
            const target = unescapeMount(left.split(" ")[4]);
            const [fstype, source] = right.split(" ");
            return { target, fstype, source };
        });
}

/**
 * Creates the mount points the hosts bind over (e.g. /app, /mysql) in the root filesystem,
 * remembering which ones did not exist so that `down` can remove exactly those.
 */
export function ensureMountpoints(s: SandboxSettings): void {
    const file = statePaths(s).mountpointsFile;
    const created: string[] = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : [];
    for (const dir of [...HOST_OWN_DIRS, ...EXTRA_MOUNTPOINTS]) {
        const missing: string[] = [];
        for (let d = dir; d !== "/" && !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
        for (const d of missing) {
            fs.mkdirSync(d, { mode: 0o755 });
            if (!created.includes(d)) created.push(d);
        }
    }
    fs.writeFileSync(file, JSON.stringify(created, null, 2) + "\n");
}

/** Mount targets of every mount namespace but this process's, read once per namespace. */
export function mountTargetsInOtherNamespaces(): Set<string> {
    const own = fs.readlinkSync("/proc/self/ns/mnt");
    const seen = new Set<string>([own]);
    const targets = new Set<string>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const ns = fs.readlinkSync(`/proc/${entry}/ns/mnt`);
            if (seen.has(ns)) continue;
            seen.add(ns);
            for (const line of fs.readFileSync(`/proc/${entry}/mountinfo`, "utf8").split("\n")) {
                const target = line.split(" - ")[0]?.split(" ")[4];
                if (target) targets.add(unescapeMount(target));
            }
        } catch {
            // the process ended while we looked
        }
    }
    return targets;
}

/** Removes the mount points {@link ensureMountpoints} created, deepest first, if still empty. */
export function removeCreatedMountpoints(s: SandboxSettings): void {
    const file = statePaths(s).mountpointsFile;
    if (!fs.existsSync(file)) return;
    const created: string[] = JSON.parse(fs.readFileSync(file, "utf8"));
    const inUse = mountTargetsInOtherNamespaces();
    for (const d of [...created].sort((a, b) => b.length - a.length)) {
        // Removing a directory detaches whatever is mounted on it in every other mount namespace
        // (Linux since 3.18): another sandbox's hosts would lose their /app under their daemons.
        if (inUse.has(d)) continue;
        try {
            fs.rmdirSync(d);
        } catch {
            // not empty or already gone: someone else uses it now, leave it
        }
    }
    fs.rmSync(file, { force: true });
}

/**
 * The host's own directories under its state dir, and its /app volume: a tmpfs of a fixed
 * size mounted in the root namespace, so data survives a host crash and the disk can be
 * filled for real (ENOSPC) and freed again.
 */
export async function ensureHostFilesystem(s: SandboxSettings, host: string): Promise<void> {
    const hp = hostPaths(s, host);
    for (const d of HOST_OWN_DIRS) fs.mkdirSync(path.join(hp.fs, d), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(hp.fs, "tmp"), 0o1777);
    fs.mkdirSync(hp.app, { recursive: true, mode: 0o755 });
    if (!rootMounts().some((m) => m.target === hp.app)) {
        await must("mount", ["-t", "tmpfs", "-o", `size=${s.appSize},mode=0755`, `sandbox-${host}-app`, hp.app]);
    }
}

/** Unmounts everything mounted under the state dir (the /app volumes), deepest first. */
export async function unmountStateDir(s: SandboxSettings): Promise<void> {
    const prefix = s.stateDir + "/";
    const targets = rootMounts()
        .map((m) => m.target)
        .filter((t) => t.startsWith(prefix))
        .sort((a, b) => b.length - a.length);
    for (const t of targets) {
        const r = await run("umount", [t]);
        if (r.code !== 0) await must("umount", ["-l", t]);
    }
}

/**
 * Where a path of a host's own view lives in the root filesystem, so the sandbox can lay out
 * files on a host without going through it (e.g. /etc/redis/redis.conf on h1).
 */
export function hostFileOnRoot(s: SandboxSettings, host: string, hostPath: string): string {
    const hp = hostPaths(s, host);
    const under = (dir: string) => hostPath === dir || hostPath.startsWith(dir + "/");
    if (under("/app")) return path.join(hp.app, hostPath.slice("/app".length));
    if (HOST_OWN_DIRS.some(under)) return path.join(hp.fs, hostPath);
    throw new Error(`${hostPath} is not one of ${host}'s own paths (${["/app", ...HOST_OWN_DIRS].join(" ")})`);
}
