/**
 * A FastDFS scenario through the real engine: the sandbox's legacy site (h1 and h2 each a
 * tracker, a storage and nginx; h3 empty), a stack of the site program for it, the verifying
 * client (downloads through the VIP and nginx, uploads through the trackers), and what the
 * engine tests read on the hosts.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import { crashDuring, CrashTarget, exec, fault, Inventory } from "../../sandbox";
import { hostPaths, settingsFromEnv } from "../../sandbox/config";
import { forgetStack, projectRoot } from "../../tools/engine";
import { clientOptions, downloadEndpoints, fastdfsStack, freshLegacyFastdfs } from "../../tools/fastdfs-site";
import { FastdfsClientReport, startFastdfsClient, StoredFile, verifyFiles } from "../../bench/fastdfs-client";
import { storyOf } from "./journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "./tree";
import { ScenarioFigures } from "./scenario-figures";

export const PROJECT = "middleware";
export const COMPONENT = "fastdfs";
export const HOSTS = ["h1", "h2", "h3"] as const;
/** The default managed store path (the runbook's). */
export const DEFAULT_MANAGED_STORE_PATH = "/mysql/fastdfs/storage";
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let scenarios = 0;

/** One test file's run of scenarios on the FastDFS site. */
export class FastdfsScenario extends ScenarioFigures {
    inv!: Inventory;
    stack: Stack | undefined;
    stackName = "";
    /** Every file that must download with its sha256: the seeded ones and every acknowledged upload. */
    files: StoredFile[] = [];
    /** The managed store path of the current stack (`managed.storePath`). */
    storePath = DEFAULT_MANAGED_STORE_PATH;
    /** The managed tracker base of the current stack (`managed.trackerBase`). */
    trackerBase = "/mysql/fastdfs/tracker_base";


    /** A fresh legacy site and a new stack for it. */
    async fresh(label: string): Promise<void> {
        const started = Date.now();
        this.inv = await freshLegacyFastdfs();
        this.files = [...this.inv.fastdfs!.files];
        this.stackName = `test-fastdfs-${process.pid}-${++scenarios}`;
        this.stack = await fastdfsStack(this.stackName);
        this.note(`${label}: fresh legacy site in ${((Date.now() - started) / 1000).toFixed(1)} s (${this.files.length} files, ` +
            `${(this.inv.fastdfs!.bytes / 1048576).toFixed(1)} MB seeded in ${this.inv.fastdfs!.seedSeconds.toFixed(1)} s)`);
    }


    /** A new stack on the same site, `patch` applied to `middleware:fastdfs` (the site must be legacy). */
    async newStack(patch: Record<string, unknown> = {}): Promise<void> {
        await this.dropStack();
        this.stackName = `test-fastdfs-${process.pid}-${++scenarios}`;
        this.stack = await fastdfsStack(this.stackName, patch);
        const managed = patch.managed as { storePath?: string; trackerBase?: string } | undefined;
        this.storePath = managed?.storePath ?? DEFAULT_MANAGED_STORE_PATH;
        this.trackerBase = managed?.trackerBase ?? "/mysql/fastdfs/tracker_base";
    }

    /**
     * Runs `op` with `targets` armed (one crash point per host); asserts that it failed because
     * every target host was killed at its point, then boots them.
     */
    async crashed(what: string, targets: CrashTarget[], op: () => Promise<unknown>): Promise<void> {
        const { crashed: hosts, error } = (await this.timed(what, () => crashDuring(targets, op))).result!;
        const where = targets.map((t) => `${t.host} ${t.step} ${t.direction} at "${t.point}"`).join(" + ");
        assert.deepEqual([...hosts].sort(), targets.map((t) => t.host).sort(), `${what}: crashed ${where}? ${error ? String(error).slice(0, 2000) : "it succeeded"}`);
        assert.ok(error, `${what}: fails`);
        assert.match(String(error), /remote command exited without exit status or exit signal|ECONNRESET|connection lost/i, `${what}: the crash is reported`);
        for (const t of targets) await fault(t.host, "up");
    }

    /** Where a file of `host`'s own view is in the root namespace (its state dir, /mysql, ...). */
    onRoot(host: string, hostPath: string): string {
        return path.join(hostPaths(settingsFromEnv(), host).fs, hostPath);
    }

    /** Resolves once `file` (a root-namespace path) exists; rejects after `ms`. */
    async fileAppears(file: string, ms: number): Promise<void> {
        const end = Date.now() + ms;
        while (!fs.existsSync(file)) {
            if (Date.now() > end) throw new Error(`${file} did not appear within ${ms} ms`);
            await sleep(20);
        }
    }

    /** The journal lines of the component since `op` began, without readiness polls, as `host step direction outcome`. */
    journalOf(op: () => Promise<void>): Promise<string[]> {
        return storyOf(HOSTS, COMPONENT, op);
    }

    /**
     * Runs `op` while the client downloads and uploads (from 1 s before to 1 s after); the
     * uploads it acknowledged join the files every later verification checks.
     */
    async withClient(label: string, op: () => Promise<void>, settleMs = 1000): Promise<FastdfsClientReport> {
        const client = startFastdfsClient({ ...(await clientOptions(this.inv)), files: this.files });
        let report: FastdfsClientReport;
        try {
            await sleep(settleMs);
            await op();
            await sleep(settleMs);
        } finally {
            report = await client.stop();
        }
        this.files.push(...report.uploaded);
        this.note(`${label}: ${report.downloads} downloads (${JSON.stringify(report.servedBy)}), longest download gap ${report.downloadGapMs} ms, ` +
            `${report.downloadFailures} failed, ${report.corrupted} corrupted; ${report.uploaded.length} uploads acknowledged, ${report.uploadFailures} failed`);
        assert.equal(report.corrupted, 0, `${label}: downloads with the wrong sha256`);
        return report;
    }

    /** Downloads every file of {@link files} and asserts each has its sha256. */
    async verifyAll(what: string): Promise<number> {
        const started = Date.now();
        const v = await verifyFiles(downloadEndpoints(this.inv), this.files);
        this.note(`${what}: ${v.verified}/${this.files.length} files verified by sha256 in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.deepEqual(v.lost.slice(0, 5), [], `${what}: ${v.lost.length} files lost`);
        assert.deepEqual(v.corrupted.slice(0, 5), [], `${what}: ${v.corrupted.length} files corrupted`);
        return v.verified;
    }

    /** The legacy configs and SysV scripts of h1 and h2. */
    async legacyFiles(): Promise<TreeSnapshot[]> {
        return Promise.all(this.inv.fastdfs!.legacyHosts.map((h) => treeSnapshot(h, this.inv.fastdfs!.legacyFiles)));
    }

    assertSameFiles(before: TreeSnapshot[], now: TreeSnapshot[], what: string): void {
        before.forEach((b, i) => assert.deepEqual(treeDiff(b, now[i]), {}, `${what}: the legacy files of ${this.inv.fastdfs!.legacyHosts[i]} differ`));
    }

    /** fdfs_monitor through the trackers listed in `conf` on `host`. */
    async monitor(host: string, conf: string): Promise<string> {
        const f = this.inv.fastdfs!;
        const r = await exec(host, `LD_LIBRARY_PATH=${f.home}/lib ${f.home}/bin/fdfs_monitor ${conf}`);
        return r.stdout;
    }

    /** Asserts the legacy layout runs: legacy paths, no _bak, h3 empty, both storages ACTIVE. */
    async assertLegacy(what: string): Promise<void> {
        const f = this.inv.fastdfs!;
        for (const h of f.legacyHosts) {
            const r = await exec(h, `for p in ${f.trackerDir} ${f.storageDir} ${f.nginxDir}; do [ -d $p ] && [ ! -e $p"_bak" ] || echo "$p"; done; [ -d ${f.storePath}/data ] || echo data; [ ! -e /mysql/fastdfs ] || echo managed; [ ! -e ${path.dirname(this.storePath)} ] || echo ${path.dirname(this.storePath)}`);
            assert.equal(r.stdout.trim(), "", `${what}: ${h} is not in the legacy layout`);
        }
        const h3 = await exec(f.newTracker, "ls -A /mysql; ls -A /etc/init.d; pgrep -x fdfs_trackerd || :");
        assert.equal(h3.stdout.trim(), "", `${what}: ${f.newTracker} is not empty`);
        const out = await this.monitor(f.legacyHosts[0], f.clientConf);
        assert.equal((out.match(/host = \S+\s+ACTIVE/g) ?? []).length, 2, `${what}: both storages ACTIVE:\n${out.slice(0, 2000)}`);
    }

    /** Asserts the managed layout runs: 3 trackers with one leader, both storages ACTIVE, the VIP. */
    async assertManaged(what: string): Promise<void> {
        const f = this.inv.fastdfs!;
        for (const h of f.legacyHosts) {
            const r = await exec(h, `for p in ${f.trackerDir}_bak ${f.storageDir}_bak ${f.nginxDir}_bak ${this.storePath}/data ${this.trackerBase}/data; do [ -e $p ] || echo "$p"; done; [ ! -e ${f.storePath}/data ] || echo legacy-data`);
            assert.equal(r.stdout.trim(), "", `${what}: ${h} is not in the managed layout`);
        }
        const conf = "/mysql/fastdfs/conf/client.conf";
        const stat = await exec(f.legacyHosts[0], `LD_LIBRARY_PATH=${f.home}/lib ${f.home}/bin/fdfs_tracker_stat -c ${conf}`);
        assert.equal((stat.stdout.match(/is_active: 1/g) ?? []).length, 3, `${what}: three trackers active:\n${stat.stdout}`);
        assert.equal((stat.stdout.match(/is_leader: 1/g) ?? []).length, 1, `${what}: one leader:\n${stat.stdout}`);
        const out = await this.monitor(f.legacyHosts[0], conf);
        assert.equal((out.match(/host = \S+\s+ACTIVE/g) ?? []).length, 2, `${what}: both storages ACTIVE`);
    }

    async dropStack(): Promise<void> {
        if (!this.stack) return;
        await forgetStack(this.stack, PROJECT, this.stackName, path.join(projectRoot, "stacks"));
        this.stack = undefined;
    }

}
