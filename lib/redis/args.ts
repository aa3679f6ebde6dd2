/**
 * Arguments of the Redis master/slave + keepalived topology, their defaults, and validation.
 *
 * @module
 */
import { posix } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { checkHost, HostArgs } from "../core/host";
import type { ServiceManager } from "../core/actions/service-state";
import { checkAbsolutePath, checkAddress, checkName, checkPort, checkServiceName, checkVersion, Problems, Validator } from "../core/validate";

/** Where the hand-installed (legacy) pair keeps things. Defaults are the runbook's paths. */
export interface RedisLegacyLayout {
    /** @default - `/app/soft/redis-5.0.5` */
    readonly installDir?: string;
    /** @default - `<installDir>/bin/redis-cli` */
    readonly cli?: string;
    /** @default - `/etc/redis/redis.conf` */
    readonly config?: string;
    /** @default - `/app/redis_data` */
    readonly dataDir?: string;
    /** @default - `dump.rdb` */
    readonly rdbFile?: string;
    /** @default - `/app/soft/keepalived` */
    readonly keepalivedDir?: string;
    /** @default - `/etc/keepalived/keepalived.conf` */
    readonly keepalivedConfig?: string;
    /** @default - `/etc/init.d/redis` */
    readonly redisInit?: string;
    /** @default - `/etc/init.d/keepalived` */
    readonly keepalivedInit?: string;
    /** @default - `redis` */
    readonly redisService?: string;
    /** @default - `keepalived` */
    readonly keepalivedService?: string;
}

/** Where the managed (standard) layout puts things. */
export interface RedisManagedLayout {
    /** Everything of the managed instance lives under this directory. @default - `/app/middleware/redis` */
    readonly root?: string;
}

/** Where the managed install takes its binaries from, on each host. */
export interface RedisInstallSource {
    /** @default - `/usr/bin/redis-server` */
    readonly redisServer?: string;
    /** @default - `/usr/bin/redis-cli` */
    readonly redisCli?: string;
    /** @default - `/usr/sbin/keepalived` */
    readonly keepalived?: string;
}

/** The virtual IP the clients use; kept as it is. */
export interface RedisVipArgs {
    /** The VIP, e.g. `10.213.47.100`. */
    readonly address: string;
    /** @default - 24 */
    readonly prefix?: number;
    /** Interface the VIP lives on, on both hosts. @default - `eth0` */
    readonly interface?: string;
    /** VRRP virtual router id, 1-255, as in the legacy keepalived.conf. @default - 51 */
    readonly virtualRouterId?: number;
}

/** Arguments of {@link RedisHa}. */
export interface RedisHaArgs {
    /** The host running the master (and holding the VIP). */
    readonly master: HostArgs;
    /** The host running the slave. */
    readonly slave: HostArgs;
    /** The VIP, kept as it is. */
    readonly vip: RedisVipArgs;
    /** @default - 6379 */
    readonly port?: number;
    /**
     * The pair's password (`requirepass`/`masterauth`), kept as it is. Set it with
     * `pulumi config set --secret`; the pre-check proves it against the running instance.
     */
    readonly password: pulumi.Input<string>;
    /**
     * Version of the managed install, as `redis-server --version` reports it (`v=<version>`);
     * the install step checks the binaries against it. Changing it on a migrated pair is a
     * rolling upgrade (or downgrade): the slave restarts on the new version first, then the
     * master, with the VIP and the writes on the slave meanwhile; the old version is removed
     * once both run the new one. A version that cannot read the pair's data (a downgrade
     * across RDB formats) is refused before anything restarts.
     */
    readonly version: string;
    /**
     * Where the hosts take the binaries of `version`. Changing it (same version) restarts the
     * pair onto the new binaries the same rolling way.
     * @default - Debian's binaries under /usr/bin and /usr/sbin
     */
    readonly source?: RedisInstallSource;
    /** @default - the runbook's paths (see {@link RedisLegacyLayout}) */
    readonly legacy?: RedisLegacyLayout;
    /** @default - everything under `/app/middleware/redis` */
    readonly managed?: RedisManagedLayout;
    /** @default - SysV (`service NAME start`) */
    readonly serviceManager?: ServiceManager;
    /**
     * Accept the migration for good: the legacy backups are removed and the steps are protected,
     * so that `pulumi destroy` cannot roll production back by accident.
     * @default - false: backups are kept and `destroy` rolls back
     */
    readonly finalize?: boolean;
}

/** Every default resolved. */
export interface ResolvedRedisHa {
    readonly master: HostArgs;
    readonly slave: HostArgs;
    readonly vip: Required<RedisVipArgs>;
    readonly port: number;
    readonly password: pulumi.Input<string>;
    readonly version: string;
    readonly source: Required<RedisInstallSource>;
    readonly legacy: Required<RedisLegacyLayout>;
    readonly managedRoot: string;
    readonly serviceManager: ServiceManager;
    readonly finalize: boolean;
}

/** The defaults, public so that site programs and tests can refer to them. */
export const REDIS_DEFAULTS = {
    port: 6379,
    vipPrefix: 24,
    vipInterface: "eth0",
    virtualRouterId: 51,
    managedRoot: "/app/middleware/redis",
    source: { redisServer: "/usr/bin/redis-server", redisCli: "/usr/bin/redis-cli", keepalived: "/usr/sbin/keepalived" },
    legacy: {
        installDir: "/app/soft/redis-5.0.5",
        config: "/etc/redis/redis.conf",
        dataDir: "/app/redis_data",
        rdbFile: "dump.rdb",
        keepalivedDir: "/app/soft/keepalived",
        keepalivedConfig: "/etc/keepalived/keepalived.conf",
        redisInit: "/etc/init.d/redis",
        keepalivedInit: "/etc/init.d/keepalived",
        redisService: "redis",
        keepalivedService: "keepalived",
    },
} as const;

const checkInterface: Validator = (v) =>
    typeof v === "string" && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/.test(v) ? [] : ["must be a network interface name such as eth0"];
const checkIntRange = (min: number, max: number): Validator => (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? [] : [`must be an integer from ${min} to ${max}`];
const checkFileName: Validator = (v) =>
    typeof v === "string" && /^[A-Za-z0-9._-]{1,255}$/.test(v) && v !== "." && v !== ".." ? [] : ["must be a plain file name"];

/** `path` normalised for comparisons: `..`, `.` and repeated or trailing slashes resolved. */
function normalised(path: string): string {
    const n = posix.normalize(path);
    return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/** Whether `inner` is `outer` or lies under it (both absolute). */
function within(inner: string, outer: string): boolean {
    const [i, o] = [normalised(inner), normalised(outer)];
    return i === o || o === "/" || i.startsWith(`${o}/`);
}

/** Where a problem is reported: the argument as the user writes it. */
const arg = (path: string) => `args.${path}`;

/**
 * The layout rules beyond each path's own form: the seven renamed legacy paths (and their
 * `_bak` siblings) are distinct and none lies inside another, none is `/`, and the managed root
 * is not `/`, does not equal, contain or lie inside any of them, nor contain the install sources.
 */
function checkLayout(p: Problems, legacy: Required<RedisLegacyLayout>, managedRoot: unknown, source: Required<RedisInstallSource>): void {
    const renamed = (Object.entries(legacy) as [keyof RedisLegacyLayout, string][])
        .filter(([k, v]) => RENAMED_LEGACY_KEYS.includes(k) && typeof v === "string" && v.startsWith("/"));
    for (const [k, v] of renamed) {
        if (normalised(v) === "/") p.add(arg(`legacy.${k}`), "must not be /: the migration renames it to _bak", v);
    }
    for (let i = 0; i < renamed.length; i++) {
        for (let j = 0; j < renamed.length; j++) {
            const [[ka, a], [kb, b]] = [renamed[i], renamed[j]];
            if (i === j || normalised(a) === "/" || normalised(b) === "/") continue;
            if (normalised(a) === normalised(b) && i < j) {
                p.add(arg(`legacy.${kb}`), `must differ from args.legacy.${ka} (${a}): each legacy path is renamed to _bak on its own`, b);
            } else if (normalised(a) !== normalised(b) && within(a, b)) {
                p.add(arg(`legacy.${ka}`), `must not lie inside args.legacy.${kb} (${b}): renaming that one to _bak would move this one with it`, a);
            }
        }
    }
    if (typeof managedRoot !== "string" || !managedRoot.startsWith("/")) return;
    if (normalised(managedRoot) === "/") {
        p.add(arg("managed.root"), "must not be /: the managed instance needs a directory of its own, which a rollback removes", managedRoot);
        return;
    }
    for (const [k, v] of renamed) {
        if (normalised(v) === "/") continue;
        const bak = `${normalised(v)}_bak`;
        if (within(managedRoot, v) || within(v, managedRoot)) {
            const how = normalised(managedRoot) === normalised(v) ? "equal" : within(managedRoot, v) ? "lie inside" : "contain";
            p.add(arg("managed.root"), `must not ${how} args.legacy.${k} (${v}): the legacy files must survive untouched`, managedRoot);
        } else if (within(managedRoot, bak) || within(bak, managedRoot)) {
            p.add(arg("managed.root"), `must not overlap ${bak}, the backup of args.legacy.${k}: the legacy files must survive untouched`, managedRoot);
        }
    }
    for (const [k, v] of Object.entries(source)) {
        if (typeof v === "string" && v.startsWith("/") && within(v, managedRoot)) {
            p.add(arg("managed.root"), `must not contain args.source.${k} (${v}): a rollback removes what is under the managed root`, managedRoot);
        }
    }
}

/** The legacy paths the migration renames to `_bak` (see `legacyBackupPaths`). */
const RENAMED_LEGACY_KEYS: readonly (keyof RedisLegacyLayout)[] = ["installDir", "keepalivedDir", "redisInit", "keepalivedInit", "dataDir", "config", "keepalivedConfig"];

/**
 * Resolves defaults and validates every argument, gathering all problems into one error that
 * names the argument as the user wrote it (`args.managed.root`), the value and the rule.
 *
 * @throws ConfigError before any resource exists
 */
export function resolveRedisHa(name: string, args: RedisHaArgs): ResolvedRedisHa {
    const p = new Problems();
    checkHost(p, arg("master"), args.master);
    checkHost(p, arg("slave"), args.slave);
    if (args.master && args.slave) {
        if (args.master.name === args.slave.name) p.add(arg("slave.name"), "must differ from args.master.name: the pair needs two hosts", args.slave.name);
        if (args.master.address === args.slave.address) p.add(arg("slave.address"), "must differ from args.master.address", args.slave.address);
    }
    const vip = args.vip ?? ({} as RedisVipArgs);
    p.check(arg("vip.address"), vip.address, checkAddress)
        .checkOptional(arg("vip.prefix"), vip.prefix, checkIntRange(1, 32))
        .checkOptional(arg("vip.interface"), vip.interface, checkInterface)
        .checkOptional(arg("vip.virtualRouterId"), vip.virtualRouterId, checkIntRange(1, 255))
        .checkOptional(arg("port"), args.port, checkPort)
        .check(arg("version"), args.version, checkVersion);
    if (typeof vip.address === "string" && checkAddress(vip.address).length === 0 && !/^[0-9.]+$/.test(vip.address)) {
        p.add(arg("vip.address"), "must be an IPv4 address: keepalived moves an address, not a name", vip.address);
    }
    for (const role of ["master", "slave"] as const) {
        if (typeof vip.address === "string" && vip.address === args[role]?.address) {
            p.add(arg("vip.address"), `must differ from args.${role}.address: keepalived would move the ${role}'s own address to the other host`, vip.address);
        }
    }
    if (args.password === undefined || args.password === "") p.add(arg("password"), "is required (pulumi config set --secret ...)", "");
    if (typeof args.password === "string" && /["\\\n\r]/.test(args.password)) {
        p.add(arg("password"), "must not contain double quotes, backslashes or line breaks", "(secret, not shown)");
    }
    const source = { ...REDIS_DEFAULTS.source, ...args.source };
    for (const [k, v] of Object.entries(source)) p.check(arg(`source.${k}`), v, checkAbsolutePath);
    const legacyInput = { ...REDIS_DEFAULTS.legacy, ...args.legacy };
    const legacy = { ...legacyInput, cli: args.legacy?.cli ?? `${legacyInput.installDir}/bin/redis-cli` };
    for (const [k, v] of Object.entries(legacy)) {
        const rule = k === "rdbFile" ? checkFileName : k.endsWith("Service") ? checkServiceName : checkAbsolutePath;
        p.check(arg(`legacy.${k}`), v, rule);
    }
    const managedRoot = args.managed?.root ?? REDIS_DEFAULTS.managedRoot;
    p.check(arg("managed.root"), managedRoot, checkAbsolutePath);
    checkLayout(p, legacy, managedRoot, source);
    p.check("name", name, checkName);
    p.throwIfAny(name);
    return {
        master: args.master,
        slave: args.slave,
        vip: {
            address: vip.address,
            prefix: vip.prefix ?? REDIS_DEFAULTS.vipPrefix,
            interface: vip.interface ?? REDIS_DEFAULTS.vipInterface,
            virtualRouterId: vip.virtualRouterId ?? REDIS_DEFAULTS.virtualRouterId,
        },
        port: args.port ?? REDIS_DEFAULTS.port,
        password: args.password,
        version: args.version,
        source,
        legacy,
        managedRoot,
        serviceManager: args.serviceManager ?? { kind: "sysv" },
        finalize: args.finalize ?? false,
    };
}
