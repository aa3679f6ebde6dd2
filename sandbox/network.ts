import * as fs from "fs";
import { BRIDGE, bridgeAddress, HOST_INTERFACE, hostAddress, NAME_PREFIX, netnsName, SandboxSettings } from "./config";
import { must, run } from "./run";

function linkExists(name: string): boolean {
    return fs.existsSync(`/sys/class/net/${name}`);
}

function disableIpv6(sysctlRoot: string, ifname: string): string {
    return `${sysctlRoot}/net/ipv6/conf/${ifname}/disable_ipv6`;
}

/**
 * Refuses a subnet that the root namespace already reaches some other way, before anything is
 * created: a clash would send host traffic out of the machine.
 */
export async function checkSubnetFree(s: SandboxSettings): Promise<void> {
    const routes = await must("ip", ["-4", "-o", "route", "show", "table", "all"]);
    const net = s.prefix24 + ".";
    for (const line of routes.split("\n")) {
        const dest = line.split(" ").find((w) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(w) && w.startsWith(net));
        if (dest && !line.includes(`dev ${BRIDGE}`)) {
            throw new Error(`subnet ${s.subnet} is already routed in the root namespace (${line.trim()}); set SANDBOX_SUBNET to a free /24`);
        }
    }
}

/** The bridge in the root namespace, with the root's address on it and multicast flooding on. */
export async function ensureBridge(s: SandboxSettings): Promise<void> {
    if (!linkExists(BRIDGE)) await must("ip", ["link", "add", BRIDGE, "type", "bridge"]);
    // With snooping on and no querier, the bridge may stop forwarding VRRP adverts to a port.
    await must("ip", ["link", "set", BRIDGE, "type", "bridge", "mcast_snooping", "0"]);
    const v6 = disableIpv6("/proc/sys", BRIDGE);
    if (fs.existsSync(v6)) fs.writeFileSync(v6, "1");
    await must("ip", ["addr", "replace", `${bridgeAddress(s)}/24`, "dev", BRIDGE]);
    await must("ip", ["link", "set", BRIDGE, "up"]);
}

/** Network namespace, veth pair and address of one host; healing a cut link as a side effect. */
export async function ensureHostNetwork(s: SandboxSettings, host: string): Promise<void> {
    const ns = netnsName(host);
    if (!fs.existsSync(`/run/netns/${ns}`)) await must("ip", ["netns", "add", ns]);
    if (!linkExists(ns)) {
        await must("ip", ["link", "add", ns, "type", "veth", "peer", "name", HOST_INTERFACE, "netns", ns]);
    }
    const v6 = disableIpv6("/proc/sys", ns);
    if (fs.existsSync(v6)) fs.writeFileSync(v6, "1");
    await must("ip", ["link", "set", ns, "master", BRIDGE]);
    await must("ip", ["link", "set", ns, "up"]);
    const inNs = (args: string[]) => must("ip", ["netns", "exec", ns, ...args]);
    await inNs(["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"]).catch(() => undefined);
    await inNs(["ip", "link", "set", "lo", "up"]);
    await inNs(["ip", "addr", "replace", `${hostAddress(s, host)}/24`, "dev", HOST_INTERFACE]);
    await inNs(["ip", "link", "set", HOST_INTERFACE, "up"]);
}

/** Sets the root side of a host's veth down (`cut`) or up (`heal`). */
export async function setLink(host: string, up: boolean): Promise<void> {
    await must("ip", ["link", "set", netnsName(host), up ? "up" : "down"]);
}

/** Whether the root side of a host's veth is administratively up. */
export function linkIsUp(host: string): boolean {
    try {
        return (parseInt(fs.readFileSync(`/sys/class/net/${netnsName(host)}/flags`, "utf8"), 16) & 1) === 1;
    } catch {
        return false;
    }
}

/** Every network namespace the sandbox made, whatever the state file says. */
export async function sandboxNamespaces(): Promise<string[]> {
    const r = await run("ip", ["netns", "list"]);
    return r.stdout
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter((n) => n.startsWith(NAME_PREFIX));
}

/** Root-namespace pids of every process inside a namespace. */
export async function namespacePids(ns: string): Promise<number[]> {
    const r = await run("ip", ["netns", "pids", ns]);
    return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Deletes a host's veth and namespace (call after its processes are gone). */
export async function removeHostNetwork(ns: string): Promise<void> {
    if (linkExists(ns)) await must("ip", ["link", "del", ns]);
    if (fs.existsSync(`/run/netns/${ns}`)) await must("ip", ["netns", "del", ns]);
}

/** Deletes the bridge and with it the root namespace's address on it. */
export async function removeBridge(): Promise<void> {
    if (linkExists(BRIDGE)) await must("ip", ["link", "del", BRIDGE]);
}
