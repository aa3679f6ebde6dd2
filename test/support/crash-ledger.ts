/**
 * What crash tests need besides the crash itself: the crash points of a step's script, which of
 * them to use, and a ledger of a client's writes through the VIP that tells the writes a crash
 * of the Redis master may lose anyway (those acknowledged after its last save) from the writes
 * nothing may lose.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostPaths, settingsFromEnv } from "../../sandbox/config";
import { crashPointsOf } from "../../lib/core/actions/reversible";
import { startWriter, verifyWrites, Writer, WriterReport } from "../../bench/writer";
import { redisOnHost } from "./redis";
import type { TreeSnapshot } from "./tree";

/**
 * The points of a script to crash at: with `CRASH_POINTS=all` every one, else the first, the
 * middle one and the last (the start, the middle and just before the end).
 */
export function pickPoints(script: string): string[] {
    const all = crashPointsOf(script);
    if (process.env.CRASH_POINTS === "all" || all.length <= 3) return all;
    return [...new Set([all[0], all[Math.floor(all.length / 2)], all[all.length - 1]])];
}

/**
 * A writer through the VIP for the whole of a crash test, and the stretches in which a crash of
 * the master host may lose acknowledged writes without the migration being at fault: from the
 * master's last save before the crash, to the crash. (Without the migration, a crash of the
 * master loses what was acknowledged after its last save: appendonly is off.) The last save is
 * the later of a SAVE the test asks for just before arming the crash and the newest snapshot on
 * the master after the crash (the legacy RDB, its backup, the managed one: a step's own SAVE),
 * dated by the `ctime` the RDB records when its save begins (whole seconds, rounded down), not
 * by the file's mtime, which a background save under load sets seconds after its fork.
 */

/** The RDB files of the sandbox's Redis master, legacy and managed, under the host's /app. */
const MASTER_RDBS = ["redis_data/dump.rdb", "redis_data_bak/dump.rdb", "middleware/redis/data/dump.rdb"];

/** When the save of an RDB file began (its `ctime` aux field, as redis-check-rdb reads it), in ms since the epoch. */
export function rdbSavedAt(file: string): number {
    const r = spawnSync("redis-check-rdb", [file], { encoding: "utf8", timeout: 60_000 });
    const ctime = /AUX FIELD ctime = '(\d+)'/.exec(`${r.stdout}`)?.[1];
    if (ctime === undefined) throw new Error(`redis-check-rdb ${file}: no ctime field:\n${r.stdout}${r.stderr}`);
    return Number(ctime) * 1000;
}

/** When the newest snapshot of `host` began, on the `performance.now()` clock; 0 if none. */
function newestSnapshot(host: string): number {
    const app = hostPaths(settingsFromEnv(), host).app;
    let newest = 0;
    for (const f of MASTER_RDBS) {
        const file = path.join(app, f);
        if (fs.existsSync(file) && fs.statSync(file).size > 0) newest = Math.max(newest, rdbSavedAt(file));
    }
    return newest === 0 ? 0 : newest - performance.timeOrigin;
}

export class CrashLedger {
    private readonly writer: Writer;
    readonly prefix: string;
    private readonly windows: { from: number; to: number; what: string }[] = [];
    private saveAt = 0;
    report: WriterReport | undefined;

    /**
     * @param vip - where the client writes
     * @param password - the pair's password
     * @param master - the master's host name (its crashes open windows)
     * @param masterAddress - where the writes are verified (the VIP may be between holders)
     * @param label - names the key prefix
     */
    constructor(vip: string, private readonly password: string, private readonly master: string, private readonly masterAddress: string, label: string) {
        this.prefix = `crash-test:${label}:${Date.now()}`;
        this.writer = startWriter({ host: vip, port: 6379, password, keyPrefix: this.prefix, intervalMs: 10 });
    }

    /** Before arming a crash of `host`: saves the master's data (if it answers) and notes the time. */
    async beforeCrash(host: string): Promise<void> {
        if (host !== this.master) return;
        // Before the SAVE is sent: a write acknowledged earlier was applied before the SAVE ran.
        this.saveAt = performance.now();
        await redisOnHost(host, this.password, ["SAVE"]).catch(() => undefined);
    }

    /** After the crash of `host`: the stretch since the save may lose acknowledged writes. */
    crashed(host: string, what: string): void {
        if (host === this.master) this.windows.push({ from: Math.max(this.saveAt, newestSnapshot(host)), to: performance.now(), what });
    }

    /** Stops the writer. */
    async stop(): Promise<WriterReport> {
        this.report = await this.writer.stop();
        return this.report;
    }

    /**
     * Verifies every acknowledged write on the server behind the VIP; returns the figures.
     * Fails when a write acknowledged outside every crash window is missing.
     */
    async verify(what: string): Promise<{ acknowledged: number; attempts: number; lost: number; lostInWindows: number }> {
        const report = this.report ?? (await this.stop());
        const verified = await verifyWrites({ host: this.masterAddress, port: 6379, password: this.password, keyPrefix: this.prefix, report });
        const ackTime = new Map(report.acknowledgedSeqs.map((seq, i) => [seq, report.ackTimes[i]]));
        const excused = (seq: number) => this.windows.some((w) => ackTime.get(seq)! >= w.from && ackTime.get(seq)! <= w.to);
        const unexcused = verified.lostSeqs.filter((seq) => !excused(seq));
        assert.deepEqual(unexcused, [], `${what}: acknowledged writes lost outside any crash window of the master: ${unexcused.slice(0, 20).join(", ")}`);
        return { acknowledged: report.acknowledged, attempts: report.attempts, lost: verified.lostWrites, lostInWindows: verified.lostWrites - unexcused.length };
    }
}

/**
 * The legacy trees without the `temp-*.rdb` files a Redis killed while saving (or a replica killed while receiving a sync) leaves in its
 * data dir, migrated or not (the crashes' residue, not a step's); `note` hears what was left out.
 */
export function withoutSaveResidue(trees: Record<string, TreeSnapshot>, note: (line: string) => void = () => undefined): Record<string, TreeSnapshot> {
    const out: Record<string, TreeSnapshot> = {};
    for (const [h, t] of Object.entries(trees)) {
        const residue = Object.keys(t.entries).filter((p) => /\/temp-[0-9.]+\.rdb$/.test(p));
        if (residue.length) note(`${h}: ${residue.length} temp-<pid>.rdb of saves cut short by a crash (Redis's own residue)`);
        out[h] = { ...t, entries: Object.fromEntries(Object.entries(t.entries).filter(([p]) => !residue.includes(p))) };
    }
    return out;
}
