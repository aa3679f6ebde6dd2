/**
 * The sandbox's FastDFS site for the benchmark and the engine tests: a fresh legacy site (h1 and
 * h2 each a tracker, a storage and nginx; h3 empty), a stack of the site program configured like
 * `stacks/Pulumi.sandbox-fastdfs.yaml` pointed at the running sandbox, and the verifying client's
 * options for it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { settingsFromEnv, statePaths } from "../sandbox/config";
import type { FastdfsClientOptions } from "../bench/fastdfs-client";
import { localStack, projectRoot } from "./engine";

/** The committed sandbox config of the FastDFS site. */
export function fastdfsSandboxConfig(): Record<string, unknown> {
    const file = path.join(projectRoot, "stacks", "Pulumi.sandbox-fastdfs.yaml");
    return (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/** A stack `name` of the site program with the FastDFS site of the running sandbox, `patch` applied to `middleware:fastdfs`. */
export async function fastdfsStack(name: string, patch: Record<string, unknown> = {}): Promise<Stack> {
    const stack = await localStack(projectRoot, name);
    const inventory = sandbox.inventory();
    if (!inventory.fastdfs || !inventory.vip) throw new Error("the sandbox has no FastDFS site: npm run sandbox -- up --hosts 3 --site legacy-fastdfs");
    const committed = fastdfsSandboxConfig()["middleware:fastdfs"] as Record<string, unknown>;
    const config: Record<string, unknown> = {
        "middleware:inventoryFile": statePaths(settingsFromEnv()).inventoryFile,
        "middleware:fastdfs": {
            ...committed,
            home: inventory.fastdfs.home,
            vip: { ...(committed.vip as object), address: inventory.vip.address, prefix: inventory.vip.prefixLength, virtualRouterId: inventory.vip.virtualRouterId },
            ...patch,
        },
    };
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }])));
    return stack;
}

/** Takes the sandbox down and lays out the legacy FastDFS site anew (`files` seeded files; default 2000). */
export async function freshLegacyFastdfs(files?: number): Promise<sandbox.Inventory> {
    await sandbox.down();
    return sandbox.up({ hosts: 3, site: "legacy-fastdfs", dataset: files === undefined ? {} : { keys: files } });
}

/** The download endpoints: the VIP, then each legacy nginx host. */
export function downloadEndpoints(inv: sandbox.Inventory): string[] {
    const f = inv.fastdfs!;
    const hosts = f.legacyHosts.map((h) => inv.hosts.find((x) => x.name === h)!.address);
    return [inv.vip!.address, ...hosts].map((a) => `http://${a}:${f.httpPort}`);
}

/**
 * The verifying client's options: downloads of the seeded files through the VIP and nginx,
 * uploads with `fdfs_upload_file` over SSH on the added tracker's host (which runs no storage),
 * through a client config listing all three trackers.
 */
export async function clientOptions(inv: sandbox.Inventory): Promise<Omit<FastdfsClientOptions, "files"> & { files: FastdfsClientOptions["files"] }> {
    const f = inv.fastdfs!;
    const host = inv.hosts.find((h) => h.name === f.newTracker)!;
    const trackers = inv.hosts.filter((h) => [...f.legacyHosts, f.newTracker].includes(h.name)).map((h) => `tracker_server = ${h.address}:${f.trackerPort}`);
    const conf = "/tmp/fastdfs-upload-client.conf";
    const text = `connect_timeout = 2\nnetwork_timeout = 30\nbase_path = /tmp\n${trackers.join("\n")}\nlog_level = warn\nuse_connection_pool = false\nload_fdfs_parameters_from_tracker = false\nuse_storage_id = false\n`;
    const r = await sandbox.exec(f.newTracker, `cat >${conf}`, { input: text });
    if (r.code !== 0) throw new Error(`cannot write the upload client's config on ${f.newTracker}: ${r.stderr}`);
    return {
        endpoints: downloadEndpoints(inv),
        files: f.files,
        uploadHost: { address: host.address, privateKeyPath: host.privateKeyPath, hostPublicKey: host.hostPublicKey },
        uploadCommand: `LD_LIBRARY_PATH=${f.home}/lib ${f.home}/bin/fdfs_upload_file ${conf}`,
    };
}
