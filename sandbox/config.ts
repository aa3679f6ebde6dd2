import * as path from "path";

/** Where the sandbox keeps keys, per-host disks and its inventory. */
export const DEFAULT_STATE_DIR = "/var/lib/pulumi-middleware-sandbox";
/** The private /24 the hosts live on: bridge .1, hN .10+N, VIP .100. */
export const DEFAULT_SUBNET = "10.213.47.0/24";
/** Default number of hosts. */
export const DEFAULT_HOSTS = 2;
/** Size of each host's /app volume (a tmpfs, so it can be filled on purpose). */
export const DEFAULT_APP_SIZE = "2g";

/**
 * Prefix of every network namespace and root-side veth the sandbox creates; `SANDBOX_PREFIX`
 * (2-4 lowercase letters and a dash) lets a second sandbox, on another `SANDBOX_SUBNET` and
 * `SANDBOX_DIR`, run beside the first one.
 */
export const NAME_PREFIX = namePrefix(process.env.SANDBOX_PREFIX);
/** The bridge joining the hosts and the root namespace. */
export const BRIDGE = `${NAME_PREFIX}br0`;

function namePrefix(value: string | undefined): string {
    if (value === undefined || value === "") return "sbx-";
    if (!/^[a-z]{2,4}-$/.test(value)) throw new Error(`SANDBOX_PREFIX=${JSON.stringify(value)}: expected 2 to 4 lowercase letters and a dash, such as sbt-`);
    return value;
}
/** The host-side interface name inside each namespace. */
export const HOST_INTERFACE = "eth0";

/**
 * Paths each host sees as its own (bind-mounted from the host's directory).
 * `/app` and `/run` are handled separately: `/app` is a fillable volume, `/run` is fresh per boot.
 */
export const HOST_OWN_DIRS: readonly string[] = [
    "/etc/redis",
    "/etc/keepalived",
    "/etc/init.d",
    "/mysql",
    // /usr/local, not /usr/local/nginx: a migration renames /usr/local/nginx to _bak, and a mount point cannot be renamed.
    "/usr/local",
    "/etc/postgresql",
    "/var/lib/postgresql",
    "/etc/zookeeper",
    "/var/lib/zookeeper",
    "/etc/kafka",
    "/var/lib/kafka",
    "/var/lib/middleware",
    "/tmp",
    "/var/log",
];

/**
 * The directory among `/app`, `/run` and {@link HOST_OWN_DIRS} that `dir` lies in or contains,
 * if any: there each host has its own copy, so what the root namespace puts there is not what
 * the hosts see. Shared software is published elsewhere (e.g. under /opt).
 */
export function hostOwnDirOf(dir: string): string | undefined {
    return ["/app", "/run", ...HOST_OWN_DIRS].find((d) => dir === d || dir.startsWith(d + "/") || d.startsWith(dir + "/"));
}

/** Resolved settings for one sandbox, from the environment. */
export interface SandboxSettings {
    readonly stateDir: string;
    /** First three octets, e.g. "10.213.47". */
    readonly prefix24: string;
    readonly subnet: string;
    readonly appSize: string;
}

/** Reads `SANDBOX_DIR`, `SANDBOX_SUBNET` and `SANDBOX_APP_SIZE`, validating them. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
    const stateDir = path.resolve(env.SANDBOX_DIR || DEFAULT_STATE_DIR);
    // The path ends up unquoted in sshd_config and host-boot.sh arguments.
    if (!/^\/[\w./-]+$/.test(stateDir) || stateDir === "/") {
        throw new Error(`SANDBOX_DIR=${JSON.stringify(stateDir)}: expected an absolute path of letters, digits, '_', '-', '.', '/'`);
    }
    const subnet = env.SANDBOX_SUBNET || DEFAULT_SUBNET;
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
    if (!m || m.slice(1).some((o) => Number(o) > 255)) {
        throw new Error(`SANDBOX_SUBNET=${JSON.stringify(subnet)}: expected an IPv4 /24 such as 10.213.47.0/24`);
    }
    const appSize = env.SANDBOX_APP_SIZE || DEFAULT_APP_SIZE;
    if (!/^\d+[kmg]?$/.test(appSize)) {
        throw new Error(`SANDBOX_APP_SIZE=${JSON.stringify(appSize)}: expected a tmpfs size such as 512m or 2g`);
    }
    return { stateDir, prefix24: `${m[1]}.${m[2]}.${m[3]}`, subnet, appSize };
}

/** Host names h1..hN; at most 89 so that addresses stay below the VIP (.100). */
export function hostNames(count: number): string[] {
    if (!Number.isInteger(count) || count < 1 || count > 89) {
        throw new Error(`hosts=${count}: expected a whole number from 1 to 89`);
    }
    return Array.from({ length: count }, (_, i) => `h${i + 1}`);
}

/** The index N of host "hN". */
export function hostIndex(name: string): number {
    const m = /^h([1-9]\d?)$/.exec(name);
    if (!m) throw new Error(`host ${JSON.stringify(name)}: expected a sandbox host name such as h1`);
    return Number(m[1]);
}

/** Address of host hN: .10+N. */
export function hostAddress(s: SandboxSettings, name: string): string {
    return `${s.prefix24}.${10 + hostIndex(name)}`;
}

/** The root namespace's own address on the bridge. */
export function bridgeAddress(s: SandboxSettings): string {
    return `${s.prefix24}.1`;
}

/** The virtual address keepalived moves between the Redis pair. */
export function vipAddress(s: SandboxSettings): string {
    return `${s.prefix24}.100`;
}

/** Network namespace (and root-side veth) name of a host. */
export function netnsName(host: string): string {
    return `${NAME_PREFIX}${host}`;
}

/** File locations inside the state dir. */
export function statePaths(s: SandboxSettings) {
    const d = s.stateDir;
    return {
        keysDir: path.join(d, "keys"),
        clientKey: path.join(d, "keys", "client_ed25519"),
        authorizedKeys: path.join(d, "keys", "authorized_keys"),
        knownHosts: path.join(d, "keys", "known_hosts"),
        hostsDir: path.join(d, "hosts"),
        siteDir: path.join(d, "site"),
        sandboxFile: path.join(d, "sandbox.json"),
        inventoryFile: path.join(d, "inventory.json"),
        mountpointsFile: path.join(d, "created-mountpoints.json"),
    };
}

/** File locations of one host inside the state dir. */
export function hostPaths(s: SandboxSettings, host: string) {
    const dir = path.join(s.stateDir, "hosts", host);
    return {
        dir,
        fs: path.join(dir, "fs"),
        app: path.join(dir, "app"),
        sshdConfig: path.join(dir, "sshd_config"),
        hostKey: path.join(s.stateDir, "keys", `${host}_host_ed25519`),
        initPid: path.join(dir, "init.pid"),
        bootLog: path.join(dir, "boot.log"),
        bootServices: path.join(dir, "boot-services"),
        siteMarker: path.join(dir, "site"),
        diskFill: path.join(dir, "disk-filled"),
    };
}
