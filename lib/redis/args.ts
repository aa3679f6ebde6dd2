/**
 * Arguments of the Redis master/slave + keepalived topology, their defaults, and validation.
 *
 * @module
 */
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

/**
 * Resolves defaults and validates every argument, gathering all problems into one error that
 * names the property, the value and the rule.
 *
 * @throws ConfigError before any resource exists
 */
export function resolveRedisHa(name: string, args: RedisHaArgs): ResolvedRedisHa {
    const p = new Problems();
    checkHost(p, "master", args.master);
    checkHost(p, "slave", args.slave);
    if (args.master && args.slave) {
        if (args.master.name === args.slave.name) p.add("slave.name", "must differ from master.name: the pair needs two hosts", args.slave.name);
        if (args.master.address === args.slave.address) p.add("slave.address", "must differ from master.address", args.slave.address);
    }
    const vip = args.vip ?? ({} as RedisVipArgs);
    p.check("vip.address", vip.address, checkAddress)
        .checkOptional("vip.prefix", vip.prefix, checkIntRange(1, 32))
        .checkOptional("vip.interface", vip.interface, checkInterface)
        .checkOptional("vip.virtualRouterId", vip.virtualRouterId, checkIntRange(1, 255))
        .checkOptional("port", args.port, checkPort)
        .check("version", args.version, checkVersion);
    if (args.password === undefined || args.password === "") p.add("password", "is required (pulumi config set --secret ...)", "");
    if (typeof args.password === "string" && /["\\\n\r]/.test(args.password)) {
        p.add("password", "must not contain double quotes, backslashes or line breaks", "(secret, not shown)");
    }
    const source = { ...REDIS_DEFAULTS.source, ...args.source };
    for (const [k, v] of Object.entries(source)) p.check(`source.${k}`, v, checkAbsolutePath);
    const legacyInput = { ...REDIS_DEFAULTS.legacy, ...args.legacy };
    const legacy = { ...legacyInput, cli: args.legacy?.cli ?? `${legacyInput.installDir}/bin/redis-cli` };
    for (const [k, v] of Object.entries(legacy)) {
        const rule = k === "rdbFile" ? checkFileName : k.endsWith("Service") ? checkServiceName : checkAbsolutePath;
        p.check(`legacy.${k}`, v, rule);
    }
    const managedRoot = args.managed?.root ?? REDIS_DEFAULTS.managedRoot;
    p.check("managed.root", managedRoot, checkAbsolutePath);
    if (typeof managedRoot === "string" && Object.values(legacy).some((x) => typeof x === "string" && (x === managedRoot || x.startsWith(`${managedRoot}/`) || managedRoot.startsWith(`${x}/`)))) {
        p.add("managed.root", "must not overlap a legacy path: the legacy files must survive untouched", managedRoot);
    }
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
