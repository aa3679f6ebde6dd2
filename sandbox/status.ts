import * as fs from "fs";
import { HOST_INTERFACE, hostAddress, hostPaths, settingsFromEnv, vipAddress } from "./config";
import { diskIsFilled, diskUsage } from "./disk";
import { execOnHost, hostIsUp } from "./host-process";
import { linkIsUp } from "./network";
import { readRecord } from "./record";

/** What one host looks like right now. */
export interface HostStatus {
    readonly name: string;
    readonly address: string;
    /** Booted: pid 1 alive and sshd started at boot. */
    readonly up: boolean;
    /** False while the host's link is cut. */
    readonly linkUp: boolean;
    readonly disk: { readonly used: number; readonly size: number; readonly filled: boolean };
    /** The site's boot services and whether `service NAME status` says they run. */
    readonly services: Readonly<Record<string, "running" | "stopped">>;
    /** Whether the host currently holds the site's VIP. */
    readonly holdsVip: boolean;
}

/** The sandbox as it is, or undefined when there is none. */
export interface SandboxStatus {
    readonly site: string;
    readonly subnet: string;
    readonly hosts: readonly HostStatus[];
}

/** Looks at every host of the running sandbox (processes, link, disk, services, VIP). */
export async function status(): Promise<SandboxStatus | undefined> {
    const s = settingsFromEnv();
    const rec = readRecord(s);
    if (!rec) return undefined;
    const hosts = await Promise.all(
        rec.hosts.map(async (name): Promise<HostStatus> => {
            const hp = hostPaths(s, name);
            const booted = hostIsUp(s, name);
            const wanted = fs.existsSync(hp.bootServices) ? fs.readFileSync(hp.bootServices, "utf8").split("\n").filter(Boolean) : [];
            const services: Record<string, "running" | "stopped"> = {};
            let holdsVip = false;
            for (const svc of wanted) {
                const r = booted ? await execOnHost(s, name, `service ${svc} status >/dev/null 2>&1`) : { code: 1 };
                services[svc] = r.code === 0 ? "running" : "stopped";
            }
            if (booted && rec.site) {
                const r = await execOnHost(s, name, `ip -4 -o addr show dev ${HOST_INTERFACE}`);
                holdsVip = r.stdout.includes(` ${vipAddress(s)}/`);
            }
            let disk = { used: 0, size: 0, filled: false };
            try {
                disk = { ...diskUsage(s, name), filled: diskIsFilled(s, name) };
            } catch {
                // volume not mounted (half-built sandbox)
            }
            return { name, address: hostAddress(s, name), up: booted, linkUp: linkIsUp(name), disk, services, holdsVip };
        }),
    );
    return { site: rec.site ?? "bare", subnet: rec.subnet, hosts };
}

/** One line per host, for people. */
export function formatStatus(st: SandboxStatus | undefined): string {
    if (!st) return "no sandbox (run: npm run sandbox -- up)\n";
    const mb = (n: number) => `${Math.round(n / 1048576)}M`;
    const lines = [`site ${st.site} on ${st.subnet}`];
    for (const h of st.hosts) {
        const svc = Object.entries(h.services).map(([k, v]) => `${k}:${v}`).join(" ");
        lines.push(
            `${h.name} ${h.address} ${h.up ? "up" : "DOWN"} link:${h.linkUp ? "up" : "CUT"} ` +
                `/app:${mb(h.disk.used)}/${mb(h.disk.size)}${h.disk.filled ? " FULL" : ""}` +
                `${svc ? " " + svc : ""}${h.holdsVip ? " VIP" : ""}`,
        );
    }
    return lines.join("\n") + "\n";
}
