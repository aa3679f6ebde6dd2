import * as fs from "fs";
import * as path from "path";
import { progress } from "../progress";
import { run, waitFor } from "../run";

/*
 * What a kubelet changes outside the host namespaces it runs in, remembered before it first
 * starts and put back by `down`: kernel settings that are not per network namespace, the
 * kubepods cgroups (cgroup v1 is one tree for the machine), and folders it creates in the root
 * filesystem whatever its configuration says. Its iptables chains, ip_forward, the CNI bridge,
 * pod namespaces and mounts live in the host's namespaces and go with them.
 */

/** Global kernel settings the kubelet sets (its "kernel tunables"). */
const KUBELET_SYSCTLS = [
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

/** Folders of the root filesystem the kubelet makes even with its root dir elsewhere. */
const KUBELET_ROOT_DIRS = ["/var/lib/kubelet", "/var/lib/cni"];

/** Where the settings before the first kubelet start are kept. */
export function hostChangesFile(siteDir: string): string {
    return path.join(siteDir, "kubelet-host-before.json");
}

interface HostBefore {
    readonly sysctls: Record<string, string>;
    readonly absentDirs: string[];
}

/** Remembers the settings and folders the kubelet will change, unless remembered already. */
export function rememberHostBeforeKubelet(siteDir: string): void {
    const file = hostChangesFile(siteDir);
    if (fs.existsSync(file)) return;
    const sysctls: Record<string, string> = {};
    for (const k of KUBELET_SYSCTLS) {
        try {
            sysctls[k] = fs.readFileSync(`/proc/sys/${k}`, "utf8").trim();
        } catch {
            // not on this kernel
        }
    }
    const before: HostBefore = { sysctls, absentDirs: KUBELET_ROOT_DIRS.filter((d) => !fs.existsSync(d)) };
    fs.mkdirSync(siteDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(before, null, 2) + "\n");
}

/** Removes a cgroup and everything under it, deepest first (each must be empty of tasks). */
function removeCgroupTree(dir: string): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
}

/**
 * Puts back what {@link rememberHostBeforeKubelet} remembered, and removes the kubepods
 * cgroups; call after every process of the host is gone. Returns what it did, for the log.
 */
export async function restoreHostAfterKubelet(siteDir: string): Promise<string[]> {
    const file = hostChangesFile(siteDir);
    if (!fs.existsSync(file)) return [];
    const before = JSON.parse(fs.readFileSync(file, "utf8")) as HostBefore;
    const done: string[] = [];
    for (const [k, v] of Object.entries(before.sysctls)) {
        const now = fs.readFileSync(`/proc/sys/${k}`, "utf8").trim();
        if (now === v) continue;
        fs.writeFileSync(`/proc/sys/${k}`, v);
        done.push(`${k.replace(/\//g, ".")} ${now} -> ${v}`);
    }
    for (const controller of fs.readdirSync("/sys/fs/cgroup")) {
        const dir = path.join("/sys/fs/cgroup", controller, "kubepods");
        if (!fs.existsSync(dir)) continue;
        let failure: unknown;
        // The last tasks leave their cgroups a moment after they were killed (EBUSY until then).
        const removed = await waitFor(async () => {
            try {
                removeCgroupTree(dir);
                return true;
            } catch (e) {
                failure = e;
                return false;
            }
        }, 10_000, 200);
        if (!removed) throw new Error(`cannot remove the kubelet's cgroup ${dir}: ${failure instanceof Error ? failure.message : String(failure)}`);
        done.push(`cgroup ${dir} removed`);
    }
    for (const d of before.absentDirs) {
        if (!fs.existsSync(d)) continue;
        fs.rmSync(d, { recursive: true, force: true });
        done.push(`${d} removed`);
    }
    fs.rmSync(file);
    return done;
}

/** Routes the pods' range through the host, so the machine reaches pods by their IPs. */
export async function routePods(podRange: string, hostAddress: string): Promise<void> {
    const r = await run("ip", ["route", "replace", podRange, "via", hostAddress]);
    if (r.code !== 0) throw new Error(`ip route replace ${podRange} via ${hostAddress} failed: ${r.stderr.trim()}`);
}

/** Removes the route of {@link routePods}, if there. */
export async function unroutePods(podRange: string): Promise<void> {
    const r = await run("ip", ["route", "del", podRange]);
    if (r.code === 0) progress(`route to the pods ${podRange} removed`);
}
