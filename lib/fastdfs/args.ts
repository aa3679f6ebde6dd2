/**
 * Arguments of the FastDFS topology, their defaults, and validation.
 *
 * @module
 */
import { checkHost, HostArgs } from "../core/host";
import { checkAbsolutePath, checkAddress, checkName, checkPort, checkSeconds, checkServiceName, checkVersion, Problems, Validator } from "../core/validate";

/** The site rule (PROCEDURES.md 1, pre-check 4): FastDFS runs three trackers. */
export const TRACKER_COUNT = 3;

/** One tracker host. */
export interface FastDfsTrackerArgs {
    readonly host: HostArgs;
    /**
     * The tracker the migration adds on an empty host (the runbook's third tracker); the
     * others run a legacy tracker that is migrated in place.
     * @default - false: a legacy tracker
     */
    readonly added?: boolean;
}

/** One legacy storage server (with nginx and the FastDFS module on the same host). */
export interface FastDfsStorageArgs {
    readonly host: HostArgs;
    /** Its group, as its storage.conf has it (`group1`). */
    readonly group: string;
    /** Its storage id, as storage_ids.conf has it (`100001`); kept by the migration. */
    readonly id: string;
}

/** The download VIP keepalived puts on one of the nginx hosts. */
export interface FastDfsVipArgs {
    readonly address: string;
    /** @default - 24 */
    readonly prefix?: number;
    /** @default - `eth0` */
    readonly interface?: string;
    /** @default - 53 */
    readonly virtualRouterId?: number;
}

/** Where the hand-installed site lives (the runbook's paths by default). */
export interface FastDfsLegacyLayout {
    /** The tracker's base dir (`data/`, `logs/`) with its config in `conf/tracker.conf`. @default - `/app/tracker` */
    readonly trackerDir?: string;
    /** The storage's base dir (`data/`, `logs/`) with `conf/storage.conf`. @default - `/app/storage` */
    readonly storageDir?: string;
    /** The storage's store_path0: files under `<storePath>/data`. @default - `/mysql/storage0` */
    readonly storePath?: string;
    /** nginx with the FastDFS module. @default - `/usr/local/nginx` */
    readonly nginxDir?: string;
    /** @default - `fdfs_trackerd` */
    readonly trackerService?: string;
    /** @default - `fdfs_storaged` */
    readonly storageService?: string;
    /** @default - `nginx` */
    readonly nginxService?: string;
}

/** The managed layout (the runbook's ADM deployment: everything under /mysql). */
export interface FastDfsManagedLayout {
    /** @default - `/mysql/fastdfs/tracker_base` */
    readonly trackerBase?: string;
    /** @default - `/mysql/fastdfs/storage_base` */
    readonly storageBase?: string;
    /** store_path0 of the managed storage: files under `<storePath>/data`. @default - `/mysql/fastdfs/storage` */
    readonly storePath?: string;
    /** Configs of the managed daemons and keepalived. @default - `/mysql/fastdfs/conf` */
    readonly confDir?: string;
}

/** Ports, the same before and after the migration. */
export interface FastDfsPorts {
    /** @default - 22122 */
    readonly tracker?: number;
    /** @default - 23000 */
    readonly storage?: number;
    /** nginx's download port. @default - 8888 */
    readonly http?: number;
}

/** Arguments of {@link FastDfs}. */
export interface FastDfsArgs {
    /** Exactly three trackers (the site rule); at least one legacy, and the added ones on hosts without a tracker. */
    readonly trackers: readonly FastDfsTrackerArgs[];
    /** The legacy storages, migrated one at a time in this order; each host also runs nginx. */
    readonly storages: readonly FastDfsStorageArgs[];
    /** The download VIP on the storages' nginx. */
    readonly vip: FastDfsVipArgs;
    /** The FastDFS version of the managed install, e.g. `6.16.0`. */
    readonly version: string;
    /**
     * Where the managed daemons' software is on every host: `bin/` (fdfs_trackerd, fdfs_storaged,
     * fdfs_monitor, fdfs_tracker_stat), `lib/` (their libraries; the binaries have no rpath),
     * `nginx/` (nginx built with the FastDFS module, a tree copied to the nginx dir) and
     * `conf/mime.types`.
     * @default - `/opt/fastdfs/<version>`
     */
    readonly home?: string;
    /** @default - the runbook's paths */
    readonly legacy?: FastDfsLegacyLayout;
    /** @default - the runbook's ADM paths */
    readonly managed?: FastDfsManagedLayout;
    /** @default - 22122, 23000, 8888 */
    readonly ports?: FastDfsPorts;
    /** Seconds a daemon has to start, a storage to become ACTIVE and in sync, nginx to serve. @default - 120 */
    readonly waitSeconds?: number;
}

/** Every default resolved. */
export interface ResolvedFastDfs {
    readonly trackers: readonly { readonly host: HostArgs; readonly added: boolean }[];
    readonly storages: readonly FastDfsStorageArgs[];
    readonly vip: Required<FastDfsVipArgs>;
    readonly version: string;
    readonly home: string;
    readonly legacy: Required<FastDfsLegacyLayout>;
    readonly managed: Required<FastDfsManagedLayout>;
    readonly ports: Required<FastDfsPorts>;
    readonly waitSeconds: number;
    /** Every host of the site, by name. */
    readonly hosts: ReadonlyMap<string, HostArgs>;
}

/** The defaults, public so that site programs and tests can refer to them. */
export const FASTDFS_DEFAULTS = {
    legacy: {
        trackerDir: "/app/tracker",
        storageDir: "/app/storage",
        storePath: "/mysql/storage0",
        nginxDir: "/usr/local/nginx",
        trackerService: "fdfs_trackerd",
        storageService: "fdfs_storaged",
        nginxService: "nginx",
    },
    managed: {
        trackerBase: "/mysql/fastdfs/tracker_base",
        storageBase: "/mysql/fastdfs/storage_base",
        storePath: "/mysql/fastdfs/storage",
        confDir: "/mysql/fastdfs/conf",
    },
    ports: { tracker: 22122, storage: 23000, http: 8888 },
    vip: { prefix: 24, interface: "eth0", virtualRouterId: 53 },
    waitSeconds: 120,
    home: (version: string) => `/opt/fastdfs/${version}`,
} as const;

const checkGroup: Validator = (v) => (typeof v === "string" && /^[A-Za-z0-9_]{1,16}$/.test(v) ? [] : ["must be a FastDFS group name (1 to 16 of A-Z a-z 0-9 _)"]);
const checkStorageId: Validator = (v) => (typeof v === "string" && /^[1-9][0-9]{5}$/.test(v) ? [] : ["must be a FastDFS storage id: six digits, 100000 to 999999"]);
const checkIntRange = (min: number, max: number): Validator => (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? [] : [`must be an integer from ${min} to ${max}`];
const checkInterface: Validator = (v) =>
    typeof v === "string" && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$/.test(v) ? [] : ["must be a network interface name such as eth0"];

const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);

/**
 * Resolves defaults and validates every argument, gathering all problems into one error that
 * names the property (`args.<key>`), the value and the rule.
 *
 * @throws ConfigError before any resource exists
 */
export function resolveFastDfs(name: string, args: FastDfsArgs): ResolvedFastDfs {
    const p = new Problems();
    const arg = (k: string) => `args.${k}`;
    p.check("name", name, checkName);
    const trackers = Array.isArray(args.trackers) ? args.trackers : [];
    const storages = Array.isArray(args.storages) ? args.storages : [];
    if (trackers.length !== TRACKER_COUNT) p.add(arg("trackers"), `must list exactly ${TRACKER_COUNT} trackers (the site rule: fdfs-tracker=3)`, trackers.map((t) => t?.host?.name));
    trackers.forEach((t, i) => checkHost(p, arg(`trackers[${i}].host`), t?.host));
    if (trackers.length && trackers.every((t) => t?.added)) p.add(arg("trackers"), "must keep at least one legacy tracker (added: false): the storages know only the legacy ones", trackers.map((t) => t?.host?.name));
    if (storages.length < 2) p.add(arg("storages"), "must list at least 2 storages: one is migrated while the other serves", storages.map((s) => s?.host?.name));
    storages.forEach((s, i) => {
        checkHost(p, arg(`storages[${i}].host`), s?.host);
        p.check(arg(`storages[${i}].group`), s?.group, checkGroup).check(arg(`storages[${i}].id`), s?.id, checkStorageId);
    });
    const hosts = new Map<string, HostArgs>();
    for (const [i, h] of [...trackers.map((t, i) => [`trackers[${i}].host`, t?.host] as const), ...storages.map((s, i) => [`storages[${i}].host`, s?.host] as const)]) {
        if (!h?.name) continue;
        const seen = hosts.get(h.name);
        if (seen && seen.address !== h.address) p.add(arg(`${i}.address`), `must be ${seen.address}, the address of host ${h.name} elsewhere in args`, h.address);
        hosts.set(h.name, h);
    }
    const names = (l: readonly { host: HostArgs }[]) => l.map((x) => x?.host?.name);
    if (new Set(names(trackers)).size !== trackers.length) p.add(arg("trackers"), "must name each host once", names(trackers));
    if (new Set(names(storages)).size !== storages.length) p.add(arg("storages"), "must name each host once", names(storages));
    if (new Set(storages.map((s) => s?.id)).size !== storages.length) p.add(arg("storages"), "must give each storage its own id", storages.map((s) => s?.id));
    trackers.forEach((t, i) => {
        if (t?.added && storages.some((s) => s?.host?.name === t.host?.name)) {
            p.add(arg(`trackers[${i}].added`), "must be false on a storage host: an added tracker goes on a host without the legacy site", t.added);
        }
    });
    p.check(arg("version"), args.version, checkVersion);
    const home = args.home ?? FASTDFS_DEFAULTS.home(typeof args.version === "string" ? args.version : "");
    p.check(arg("home"), home, checkAbsolutePath);
    const legacy = { ...FASTDFS_DEFAULTS.legacy, ...args.legacy };
    const managed = { ...FASTDFS_DEFAULTS.managed, ...args.managed };
    for (const k of ["trackerDir", "storageDir", "storePath", "nginxDir"] as const) {
        p.check(arg(`legacy.${k}`), legacy[k], checkAbsolutePath);
        if (legacy[k] === "/") p.add(arg(`legacy.${k}`), "must not be /: the migration renames it to _bak", legacy[k]);
    }
    for (const k of ["trackerService", "storageService", "nginxService"] as const) p.check(arg(`legacy.${k}`), legacy[k], checkServiceName);
    for (const k of ["trackerBase", "storageBase", "storePath", "confDir"] as const) {
        p.check(arg(`managed.${k}`), managed[k], checkAbsolutePath);
        if (typeof managed[k] !== "string") continue;
        for (const l of ["trackerDir", "storageDir", "storePath", "nginxDir"] as const) {
            if (typeof legacy[l] === "string" && (inside(managed[k], legacy[l]) || inside(legacy[l], managed[k]))) {
                p.add(arg(`managed.${k}`), `must not overlap args.legacy.${l} (${legacy[l]}): the legacy files must survive untouched`, managed[k]);
            }
        }
    }
    const ports = { ...FASTDFS_DEFAULTS.ports, ...args.ports };
    for (const k of ["tracker", "storage", "http"] as const) p.check(arg(`ports.${k}`), ports[k], checkPort);
    if (new Set([ports.tracker, ports.storage, ports.http]).size !== 3) p.add(arg("ports"), "must be three different ports", ports);
    const vip = args.vip ?? ({} as FastDfsVipArgs);
    p.check(arg("vip.address"), vip.address, checkAddress)
        .checkOptional(arg("vip.prefix"), vip.prefix, checkIntRange(1, 32))
        .checkOptional(arg("vip.interface"), vip.interface, checkInterface)
        .checkOptional(arg("vip.virtualRouterId"), vip.virtualRouterId, checkIntRange(1, 255));
    if ([...hosts.values()].some((h) => h.address === vip.address)) p.add(arg("vip.address"), "must differ from the hosts' addresses", vip.address);
    p.checkOptional(arg("waitSeconds"), args.waitSeconds, checkSeconds(10, 3600));
    p.throwIfAny(name);
    return {
        trackers: trackers.map((t) => ({ host: t.host, added: t.added ?? false })),
        storages,
        vip: {
            address: vip.address,
            prefix: vip.prefix ?? FASTDFS_DEFAULTS.vip.prefix,
            interface: vip.interface ?? FASTDFS_DEFAULTS.vip.interface,
            virtualRouterId: vip.virtualRouterId ?? FASTDFS_DEFAULTS.vip.virtualRouterId,
        },
        version: args.version,
        home,
        legacy,
        managed,
        ports,
        waitSeconds: args.waitSeconds ?? FASTDFS_DEFAULTS.waitSeconds,
        hosts,
    };
}
