import * as fs from "fs";
import * as path from "path";
import { HOST_INTERFACE, hostAddress, hostPaths, SandboxSettings, vipAddress } from "../config";
import { hostFileOnRoot } from "../host-fs";
import { progress } from "../progress";
import { waitFor } from "../run";
import {
    renderClientConf,
    renderDaemonInit,
    renderModFastdfsConf,
    renderNginxConf,
    renderNginxInit,
    renderStorageConf,
    renderStorageIds,
    renderTrackerConf,
    StorageIdentity,
} from "../../lib/fastdfs/files";
import { FASTDFS_PUBLISH_ROOT, NGINX_PREFIX, SANDBOX_FASTDFS_VERSION } from "./fastdfs-build";
import { DatasetFile, DEFAULT_FASTDFS_FILES, seedFiles, uploadDataset } from "./fastdfs-dataset";
import { Site, SiteContext } from "./site";
import { putOnHost } from "./site-files";

/** The site's name, as `up --site` takes it. */
export const LEGACY_FASTDFS_SITE = "legacy-fastdfs";
const SITE = LEGACY_FASTDFS_SITE;

/** The runbook's legacy layout, the same on h1 and h2. */
export const LEGACY_FASTDFS = {
    group: "group1",
    trackerPort: 22122,
    storagePort: 23000,
    httpPort: 8888,
    trackerDir: "/app/tracker",
    storageDir: "/app/storage",
    storePath: "/mysql/storage0",
    nginxDir: NGINX_PREFIX,
    trackerService: "fdfs_trackerd",
    storageService: "fdfs_storaged",
    nginxService: "nginx",
    /** Storage ids of h1, h2, ... */
    firstStorageId: 100001,
    home: path.join(FASTDFS_PUBLISH_ROOT, SANDBOX_FASTDFS_VERSION),
} as const;
const L = LEGACY_FASTDFS;

/** VRRP router id of the download VIP the migration puts on the nginx hosts. */
export const DOWNLOAD_VIP_ROUTER_ID = 53;

/** The files of the legacy layout on one host (configs and SysV scripts), for byte-for-byte checks. */
export const LEGACY_FASTDFS_FILES = [
    `${L.trackerDir}/conf/tracker.conf`, `${L.trackerDir}/conf/storage_ids.conf`,
    `${L.storageDir}/conf/storage.conf`, `${L.storageDir}/conf/storage_ids.conf`, `${L.storageDir}/conf/client.conf`,
    `${L.nginxDir}/conf/nginx.conf`, `${L.nginxDir}/conf/mod_fastdfs.conf`,
    `/etc/init.d/${L.trackerService}`, `/etc/init.d/${L.storageService}`, `/etc/init.d/${L.nginxService}`,
];

const BOOT_SERVICES = [L.trackerService, L.storageService, L.nginxService];

function identities(s: SandboxSettings, hosts: readonly string[]): StorageIdentity[] {
    return hosts.map((h, i) => ({ id: String(L.firstStorageId + i), group: L.group, address: hostAddress(s, h) }));
}

/** Writes one host's hand-installed layout; skipped when the host already carries the site. */
function layOutHost(s: SandboxSettings, host: string, legacyHosts: readonly string[]): void {
    const hp = hostPaths(s, host);
    if (fs.existsSync(hp.siteMarker)) return;
    const trackers = legacyHosts.map((h) => `${hostAddress(s, h)}:${L.trackerPort}`);
    const ids = renderStorageIds(identities(s, legacyHosts));
    for (const d of [`${L.trackerDir}/data`, `${L.trackerDir}/logs`, `${L.storageDir}/data`, `${L.storageDir}/logs`, L.storePath]) {
        fs.mkdirSync(hostFileOnRoot(s, host, d), { recursive: true, mode: 0o755 });
    }
    putOnHost(s, host, `${L.trackerDir}/conf/tracker.conf`, renderTrackerConf({ basePath: L.trackerDir, port: L.trackerPort, storageIdsFile: `${L.trackerDir}/conf/storage_ids.conf` }), 0o644);
    putOnHost(s, host, `${L.trackerDir}/conf/storage_ids.conf`, ids, 0o644);
    putOnHost(s, host, `${L.storageDir}/conf/storage.conf`, renderStorageConf({ group: L.group, port: L.storagePort, basePath: L.storageDir, storePath: L.storePath, trackers }), 0o644);
    putOnHost(s, host, `${L.storageDir}/conf/storage_ids.conf`, ids, 0o644);
    putOnHost(s, host, `${L.storageDir}/conf/client.conf`, renderClientConf({ basePath: L.storageDir, trackers, storageIdsFile: `${L.storageDir}/conf/storage_ids.conf` }), 0o644);
    const nginx = hostFileOnRoot(s, host, L.nginxDir);
    fs.cpSync(path.join(L.home, "nginx"), nginx, { recursive: true });
    putOnHost(s, host, `${L.nginxDir}/conf/nginx.conf`, renderNginxConf({ httpPort: L.httpPort, group: L.group }), 0o644);
    putOnHost(s, host, `${L.nginxDir}/conf/mod_fastdfs.conf`, renderModFastdfsConf({
        group: L.group, storagePort: L.storagePort, storePath: L.storePath, trackers,
        storageIdsFile: `${L.storageDir}/conf/storage_ids.conf`, logFile: `${L.nginxDir}/logs/mod_fastdfs.log`, mimeTypesFile: `${L.home}/conf/mime.types`,
    }), 0o644);
    putOnHost(s, host, `/etc/init.d/${L.trackerService}`, renderDaemonInit({ service: L.trackerService, daemon: "fdfs_trackerd", home: L.home, config: `${L.trackerDir}/conf/tracker.conf`, basePath: L.trackerDir }), 0o755);
    putOnHost(s, host, `/etc/init.d/${L.storageService}`, renderDaemonInit({ service: L.storageService, daemon: "fdfs_storaged", home: L.home, config: `${L.storageDir}/conf/storage.conf`, basePath: L.storageDir }), 0o755);
    putOnHost(s, host, `/etc/init.d/${L.nginxService}`, renderNginxInit({ service: L.nginxService, prefix: L.nginxDir, home: L.home }), 0o755);
    fs.writeFileSync(hp.bootServices, BOOT_SERVICES.join("\n") + "\n");
    fs.writeFileSync(hp.siteMarker, SITE + "\n");
}

async function must(ctx: SiteContext, host: string, cmd: string): Promise<string> {
    const r = await ctx.exec(host, cmd);
    if (r.code !== 0) throw new Error(`${host}: ${cmd.slice(0, 160)} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r.stdout;
}

/** fdfs_monitor through the legacy client config on `host`. */
export function legacyMonitor(): string {
    return `LD_LIBRARY_PATH=${L.home}/lib ${L.home}/bin/fdfs_monitor ${L.storageDir}/conf/client.conf`;
}

/** Waits until fdfs_monitor on `host` lists `count` storages of the group, all ACTIVE. */
async function waitForActive(ctx: SiteContext, host: string, count: number): Promise<void> {
    let last = "";
    const ok = await waitFor(async () => {
        const r = await ctx.exec(host, legacyMonitor());
        last = r.stdout + r.stderr;
        return (last.match(/host = \S+\s+ACTIVE/g) ?? []).length === count && last.includes(`writable server count = ${count}`);
    }, 60_000, 500);
    if (!ok) throw new Error(`${host}: the storages of ${L.group} did not all become ACTIVE:\n${last.slice(-1500)}`);
}

/** The inventory's part of the site. */
export interface InventoryFastdfs {
    readonly version: string;
    /** Where the binaries are on every host: `bin/`, `lib/` (no rpath: LD_LIBRARY_PATH), `nginx/`. */
    readonly home: string;
    readonly group: string;
    readonly trackerPort: number;
    readonly storagePort: number;
    readonly httpPort: number;
    /** Hosts running a legacy tracker, storage and nginx. */
    readonly legacyHosts: readonly string[];
    /** The empty host for the third tracker. */
    readonly newTracker: string;
    readonly storageIds: Readonly<Record<string, string>>;
    readonly trackerDir: string;
    readonly storageDir: string;
    readonly storePath: string;
    readonly nginxDir: string;
    /** The client config on the legacy hosts (for fdfs_upload_file and fdfs_monitor). */
    readonly clientConf: string;
    /** The legacy configs and SysV scripts, on each legacy host. */
    readonly legacyFiles: readonly string[];
    readonly seedSeconds: number;
    readonly bytes: number;
    /** The seeded files: FastDFS file id, size and sha256. */
    readonly files: readonly DatasetFile[];
}

/**
 * FastDFS as the runbook found it: h1 and h2 each run a tracker, a storage of group1 and nginx
 * with the FastDFS module, hand-installed in the runbook's paths; h3 empty (for the third
 * tracker). A seeded data set of a few thousand files, uploaded through the trackers and
 * replicated to both storages.
 */
export const legacyFastdfs: Site = {
    name: SITE,
    minHosts: 3,

    async layOut(ctx, previous) {
        const s = ctx.settings;
        const legacyHosts = ctx.hosts.slice(0, 2);
        const count = ctx.dataset.keys ?? (previous?.fileCount as number | undefined) ?? DEFAULT_FASTDFS_FILES;
        if (previous?.files !== undefined) {
            if (count !== previous.fileCount) throw new Error(`the site holds ${previous.fileCount} files; to seed another set, run down first`);
            // Laid out before: a test or a migration may have changed it since, so report, never rewrite.
            const r = await ctx.exec(legacyHosts[0], `${legacyMonitor()} >/dev/null 2>&1`);
            if (r.code !== 0) progress(`warning: legacy-fastdfs: fdfs_monitor fails on ${legacyHosts[0]}; left as it is`);
            return previous;
        }
        for (const host of legacyHosts) layOutHost(s, host, legacyHosts);
        for (const service of BOOT_SERVICES) {
            for (const host of legacyHosts) await must(ctx, host, `service ${service} start`);
        }
        await waitForActive(ctx, legacyHosts[0], legacyHosts.length);
        const started = Date.now();
        const files = seedFiles(count, ctx.dataset.seed ?? 1);
        const uploaded = await uploadDataset(ctx, legacyHosts[0], files, `LD_LIBRARY_PATH=${L.home}/lib ${L.home}/bin/fdfs_upload_file ${L.storageDir}/conf/client.conf`);
        const seedSeconds = (Date.now() - started) / 1000;
        const bytes = uploaded.reduce((n, f) => n + f.size, 0);
        progress(`legacy-fastdfs: ${uploaded.length} files (${(bytes / 1048576).toFixed(1)} MB) uploaded in ${seedSeconds.toFixed(1)} s; waiting for both storages to hold them`);
        for (const host of legacyHosts) {
            const ok = await waitFor(async () => {
                const r = await ctx.exec(host, `find ${L.storePath}/data -type f -path '*/[0-9A-F][0-9A-F]/[0-9A-F][0-9A-F]/*' | wc -l`);
                return Number(r.stdout.trim()) >= uploaded.length;
            }, 120_000, 500);
            if (!ok) throw new Error(`${host}: the storage does not hold all ${uploaded.length} seeded files after 120 s`);
        }
        progress(`legacy-fastdfs: FastDFS ${SANDBOX_FASTDFS_VERSION} trackers, storages and nginx on ${legacyHosts.join(", ")}; ${ctx.hosts[2]} empty`);
        return { fileCount: count, seedSeconds, bytes, files: uploaded };
    },

    inventory(ctx, facts) {
        const s = ctx.settings;
        const legacyHosts = ctx.hosts.slice(0, 2);
        const fastdfs: InventoryFastdfs = {
            version: SANDBOX_FASTDFS_VERSION,
            home: L.home,
            group: L.group,
            trackerPort: L.trackerPort,
            storagePort: L.storagePort,
            httpPort: L.httpPort,
            legacyHosts,
            newTracker: ctx.hosts[2],
            storageIds: Object.fromEntries(identities(s, legacyHosts).map((x, i) => [legacyHosts[i], x.id])),
            trackerDir: L.trackerDir,
            storageDir: L.storageDir,
            storePath: L.storePath,
            nginxDir: L.nginxDir,
            clientConf: `${L.storageDir}/conf/client.conf`,
            legacyFiles: LEGACY_FASTDFS_FILES,
            seedSeconds: facts.seedSeconds as number,
            bytes: facts.bytes as number,
            files: facts.files as DatasetFile[],
        };
        return { fastdfs, vip: { address: vipAddress(s), prefixLength: 24, interface: HOST_INTERFACE, virtualRouterId: DOWNLOAD_VIP_ROUTER_ID } };
    },
};
