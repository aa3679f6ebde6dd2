/**
 * A Redis scenario through the real engine: the sandbox's legacy pair (master h1, slave h2,
 * keepalived VIP), a stack of the site program for it, and what the engine tests read and
 * assert about the site, the stack's state, the hosts' journals and a client writing through
 * the VIP. Each scenario starts from a fresh legacy site ({@link RedisScenario.freshScenario}).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { exec, fault, Inventory } from "../../sandbox";
import { forgetStack, projectRoot } from "../../tools/engine";
import { freshLegacyRedis, LegacyRedisOptions, redisPassword, siteStack } from "../../tools/redis-site";
import { startWriter, verifyWrites, Writer, WriterReport } from "../../bench/writer";
import { REDIS_HA_TYPE } from "../../lib/redis/component";
import { REDIS_STEPS } from "../../lib/redis/plan";
import { READY_STEP } from "../../lib/core/materialize";
import { JournalLine, journalMark, journalSince } from "./journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "./tree";
import { eventually, existingWithSuffix, redisDbsize, redisInfo, redisScan, vipHolders } from "./redis";
import { ScenarioFigures } from "./scenario-figures";

/** The site program's Pulumi project. */
export const PROJECT = "middleware";
/** The component's name in the site program (and in the hosts' journals). */
export const COMPONENT = "redis";
/** Both hosts of the pair. */
export const HOSTS = ["h1", "h2"] as const;
/** The legacy master. */
export const MASTER = "h1";
/** The legacy slave. */
export const SLAVE = "h2";
/** The port both Redis servers listen on, and the VIP's. */
export const PORT = 6379;
/** The resource type of each step in the stack's state. */
export const STEP_TYPE = "command:remote:Command";
/** The managed tree a migration lays out on each host. */
export const MANAGED_ROOT = "/app/middleware";
/** The managed Redis (binaries, init scripts) under {@link MANAGED_ROOT}. */
export const MANAGED_REDIS = "/app/middleware/redis";
/** The legacy paths the runbook renames to `_bak`, in its order. */
export const RENAMED = [
    "/app/soft/redis-5.0.5",
    "/app/soft/keepalived",
    "/etc/init.d/redis",
    "/etc/init.d/keepalived",
    "/app/redis_data",
    "/etc/redis/redis.conf",
    "/etc/keepalived/keepalived.conf",
];
/** Everything of the legacy site that must come back byte for byte. */
export const LEGACY_PATHS = [...RENAMED, "/etc/keepalived/check_redis.sh"];
/** The one file whose bytes a migration and its rollback rewrite (the switch's SAVE); compared by data instead. */
export const LEGACY_RDB = "/app/redis_data/dump.rdb";
/** The binary the legacy pair runs. */
export const LEGACY_EXECUTABLE = "/app/soft/redis-5.0.5/bin/redis-server";
/** Steps whose forward action has an inverse, in the plan's order. */
export const REVERSIBLE = [
    `${MASTER} ${REDIS_STEPS.masterStage}`,
    `${SLAVE} ${REDIS_STEPS.slaveStage}`,
    `${SLAVE} ${REDIS_STEPS.slaveInstall}`,
    `${MASTER} ${REDIS_STEPS.masterInstall}`,
    `${SLAVE} ${REDIS_STEPS.slaveOut}`,
    `${MASTER} ${REDIS_STEPS.masterSwitch}`,
    `${SLAVE} ${REDIS_STEPS.slaveIn}`,
];
/** Steps the engine runs side by side (same dependencies), by group: their relative order is free in both directions. */
export const CONCURRENT = new Map([
    [`${MASTER} ${REDIS_STEPS.masterPrecheck}`, "prechecks"],
    [`${SLAVE} ${REDIS_STEPS.slavePrecheck}`, "prechecks"],
    [`${MASTER} ${REDIS_STEPS.masterStage}`, "stages"],
    [`${SLAVE} ${REDIS_STEPS.slaveStage}`, "stages"],
]);
/** Shortest stretch without an acknowledged write that {@link writerGaps} lists. */
export const GAP_MS = 250;
/**
 * Failures of a write that never reached a server (it cannot have been applied): the writer's
 * connect failed (bench/redis-client says `connect to HOST:PORT: ...`), or ioredis refused to
 * send on a connection that was no longer writable (it queues nothing).
 */
const NEVER_SENT = /^(connect to |Stream isn't writeable)/;

/** Scenarios started in this process, so that every stack gets its own name. */
let scenarios = 0;

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `cmd` on `host` and returns its stdout; throws on a non-zero exit. */
export async function onHost(host: string, cmd: string): Promise<string> {
    const r = await exec(host, cmd);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/** The legacy paths of both hosts. */
export async function legacyTrees(): Promise<Record<string, TreeSnapshot>> {
    const out: Record<string, TreeSnapshot> = {};
    for (const h of HOSTS) out[h] = await treeSnapshot(h, LEGACY_PATHS);
    return out;
}

/**
 * Asserts the legacy paths are byte-identical to `before` in names, types, modes, owners,
 * link targets and contents, except the content of the RDB (its type, mode and owner count).
 */
export function assertLegacyTreesBack(before: Record<string, TreeSnapshot>, now: Record<string, TreeSnapshot>, what: string): void {
    const contentless = (entry: string | undefined) => entry?.replace(/ [0-9a-f]{64}$/, " <content>");
    for (const h of HOSTS) {
        const diff = treeDiff(before[h], now[h]);
        assert.ok(before[h].entries[LEGACY_RDB]?.startsWith("f "), `${h}: ${LEGACY_RDB} is a file before the migration`);
        if (LEGACY_RDB in diff) {
            assert.equal(contentless(diff[LEGACY_RDB][1]), contentless(diff[LEGACY_RDB][0]), `${what}: ${h}: ${LEGACY_RDB} changed more than its content`);
            delete diff[LEGACY_RDB];
        }
        assert.deepEqual(diff, {}, `${what}: ${h}: legacy paths differ from before the migration`);
    }
}

/** Every `_bak` of the renamed paths on both hosts, as `host path`. */
export async function backupsLeft(): Promise<string[]> {
    const found: string[] = [];
    for (const h of HOSTS) found.push(...(await existingWithSuffix(h, RENAMED)).map((p) => `${h} ${p}`));
    return found;
}

/** `host step direction outcome`, without the readiness polls. */
export function story(lines: readonly JournalLine[]): string[] {
    return lines.filter((l) => l.step !== READY_STEP).map((l) => `${l.host} ${l.step} ${l.direction} ${l.outcome}`);
}

/**
 * Orders each run of adjacent entries of one concurrent group by text, so that sequences compare
 * regardless of how the engine interleaved steps it runs side by side. An entry is `host step`,
 * optionally followed by more words (direction, outcome).
 */
export function settleConcurrent(entries: readonly string[]): string[] {
    const group = (e: string) => CONCURRENT.get(e.split(" ").slice(0, 2).join(" "));
    const out = [...entries];
    for (let i = 0; i < out.length; ) {
        const g = group(out[i]);
        let j = i + 1;
        while (g !== undefined && j < out.length && group(out[j]) === g) j++;
        out.splice(i, j - i, ...out.slice(i, j).sort());
        i = j;
    }
    return out;
}

/**
 * The stretches without an acknowledged write longer than {@link GAP_MS}, each with the steps that
 * may have been running then: those whose journal line (written when a step ends; the hosts and
 * this process share one clock) came after the stretch began, up to the first one after it ended.
 * Says where a client waited, not only how long.
 */
export function writerGaps(report: WriterReport, lines: readonly JournalLine[]): string[] {
    const points = [report.startedAt, ...report.ackTimes, report.stoppedAt];
    const wall = (t: number) => new Date(performance.timeOrigin + t).toISOString().replace("Z", "000000Z");
    const out: string[] = [];
    for (let i = 1; i < points.length; i++) {
        const ms = points[i] - points[i - 1];
        if (ms < GAP_MS) continue;
        const [from, to] = [wall(points[i - 1]), wall(points[i])];
        const after = lines.filter((l) => l.time >= from);
        const ended = after.findIndex((l) => l.time >= to);
        const during = after.slice(0, ended < 0 ? after.length : ended + 1).map((l) => `${l.host} ${l.step} ${l.direction}`);
        out.push(`${Math.round(ms)} ms at +${((points[i - 1] - report.startedAt) / 1000).toFixed(1)} s, during ${during.length ? during.join(" / ") : "no step"}`);
    }
    return out;
}

/**
 * One test file's run of scenarios: the current legacy site (inventory, password, VIP), the
 * current scenario's stack, and the figures to print at the end. {@link freshScenario} starts a
 * scenario; {@link endFile} ends the file.
 */
export class RedisScenario extends ScenarioFigures {
    /** The sandbox's inventory of the current legacy site. */
    inv!: Inventory;
    /** The legacy pair's password. */
    password = "";
    /** The VIP's address. */
    vip = "";
    /** The current scenario's stack (none between scenarios). */
    stack: Stack | undefined;
    /** The current scenario's stack name. */
    stackName = "";

    /** The URN of a step of the component, as the engine names it. */
    stepUrn(host: string, step: string): string {
        return `urn:pulumi:${this.stackName}::${PROJECT}::${REDIS_HA_TYPE}$${STEP_TYPE}::${COMPONENT}-${host}-${step}`;
    }

    /** The URN of the VRRP password the component generates (the stage steps need it). */
    vrrpPasswordUrn(): string {
        return `urn:pulumi:${this.stackName}::${PROJECT}::${REDIS_HA_TYPE}$random:index/randomPassword:RandomPassword::${COMPONENT}-vrrp-password`;
    }

    /** The URN of the component itself (targeted steps need their parent). */
    componentUrn(): string {
        return `urn:pulumi:${this.stackName}::${PROJECT}::${REDIS_HA_TYPE}::${COMPONENT}`;
    }

    /** The step resources in the stack's state, as `host step`, sorted. */
    async stepsInState(): Promise<string[]> {
        const state = await this.stack!.exportStack();
        return ((state.deployment.resources ?? []) as { type: string; urn: string }[])
            .filter((r) => r.type === STEP_TYPE)
            .map((r) => {
                const m = new RegExp(`::${COMPONENT}-(h\\d+)-(.+)$`).exec(r.urn);
                assert.ok(m, `unexpected step URN ${r.urn}`);
                return `${m[1]} ${m[2]}`;
            })
            .sort();
    }

    /** The forward stdout of a step, from the stack's state. */
    async stepStdout(step: string): Promise<string> {
        const state = await this.stack!.exportStack();
        const r = ((state.deployment.resources ?? []) as { urn: string; outputs?: Record<string, unknown> }[]).find((x) => x.urn.endsWith(`-${step}`));
        assert.ok(r, `no resource of step ${step} in the state`);
        const stdout = r.outputs?.stdout;
        assert.equal(typeof stdout, "string", `${step}: outputs.stdout is ${JSON.stringify(stdout)}`);
        return stdout as string;
    }

    /** A fresh legacy site and a new stack of the site program for it. */
    async freshScenario(label: string, site: LegacyRedisOptions = {}): Promise<void> {
        this.inv = await freshLegacyRedis(site);
        this.password = redisPassword(this.inv);
        this.vip = this.inv.vip!.address;
        this.stackName = `test-redis-${process.pid}-${++scenarios}`;
        this.stack = await siteStack(this.stackName);
        console.log(`      ${label}: fresh legacy site (${this.inv.redis!.datasetKeys} keys), stack ${this.stackName}`);
    }

    /** Forgets the scenario's stack without running anything (the next scenario lays out a fresh site). */
    async dropStack(): Promise<void> {
        if (!this.stack) return;
        await forgetStack(this.stack, PROJECT, this.stackName, path.join(projectRoot, "stacks"));
        this.stack = undefined;
    }

    /**
     * Ends a test file: frees the hosts' disks, drops the stack and prints the figures. The site
     * stays as the last scenario left it: every file that needs a site lays out its own.
     */
    async endFile(): Promise<void> {
        for (const h of HOSTS) await fault(h, "free-disk").catch(() => undefined);
        await this.dropStack();
        this.printFigures();
    }

    /** Asserts the legacy pair serves as it was laid out: roles, replication, binaries, VIP on the master. */
    async assertLegacyPair(what: string): Promise<void> {
        const [mServer, mRepl] = [await redisInfo(MASTER, this.password, "server"), await redisInfo(MASTER, this.password, "replication")];
        assert.equal(mServer.executable, LEGACY_EXECUTABLE, `${what}: the master runs the legacy binary`);
        assert.equal(mRepl.role, "master", `${what}: ${MASTER} is the master`);
        assert.equal(mRepl.connected_slaves, "1", `${what}: one replica connected to ${MASTER}`);
        assert.match(mRepl.slave0 ?? "", new RegExp(`^ip=${this.inv.hosts[1].address.replace(/\./g, "\\.")},port=${PORT},state=online,`), `${what}: ${SLAVE} replicates online`);
        const [sServer, sRepl] = [await redisInfo(SLAVE, this.password, "server"), await redisInfo(SLAVE, this.password, "replication")];
        assert.equal(sServer.executable, LEGACY_EXECUTABLE, `${what}: the slave runs the legacy binary`);
        assert.equal(sRepl.role, "slave", `${what}: ${SLAVE} is a replica`);
        assert.equal(sRepl.master_host, this.inv.hosts[0].address, `${what}: ${SLAVE} replicates from ${MASTER}`);
        assert.equal(sRepl.master_link_status, "up", `${what}: the replication link is up`);
        assert.deepEqual(await vipHolders(HOSTS, this.vip), [MASTER], `${what}: the VIP is on ${MASTER} only`);
        for (const h of HOSTS) {
            for (const p of ["/etc/init.d/redis", "/etc/init.d/keepalived"]) {
                assert.equal((await onHost(h, `[ -L ${p} ] && echo link || echo file`)).trim(), "file", `${what}: ${h}: ${p} is the legacy script again`);
            }
            assert.deepEqual((await existingWithSuffix(h, [MANAGED_ROOT], "")), [], `${what}: ${h}: ${MANAGED_ROOT} is gone`);
        }
    }

    /** Waits until the replica holds as many keys as the master; returns both counts. */
    async replicaCaughtUp(): Promise<{ master: number; slave: number }> {
        let counts = { master: -1, slave: -2 };
        await eventually(async () => {
            counts = { master: await redisDbsize(MASTER, this.password), slave: await redisDbsize(SLAVE, this.password) };
            return counts.master === counts.slave;
        }, 20_000);
        return counts;
    }

    /** A writer through the VIP, a fresh key prefix per run. */
    writer(label: string): { prefix: string; writer: Writer } {
        const prefix = `engine-test:${label}:${Date.now()}`;
        return { prefix, writer: startWriter({ host: this.vip, port: PORT, password: this.password, keyPrefix: prefix, intervalMs: 10 }) };
    }

    /**
     * Runs `op` while a writer writes through the VIP (from 1 s before to 1 s after); reports the
     * writes, verifies them, and tells where the writer waited.
     */
    async withWriter(label: string, op: () => Promise<void>): Promise<{ prefix: string; report: WriterReport; lost: number }> {
        const mark = await journalMark(HOSTS);
        const w = this.writer(label);
        let report: WriterReport | undefined;
        try {
            await sleep(1000);
            await op();
            await sleep(1000);
        } finally {
            report = await w.writer.stop();
        }
        const verified = await verifyWrites({ host: this.vip, port: PORT, password: this.password, keyPrefix: w.prefix, report });
        this.note(`${label}: writer downtime ${Math.round(report.downtimeMs)} ms, ${report.acknowledged}/${report.attempts} writes acknowledged, ${verified.lostWrites} lost` +
            `${Object.keys(report.failures).length ? `, failures ${JSON.stringify(report.failures)}` : ""}`);
        const gaps = writerGaps(report, await journalSince(mark, COMPONENT));
        this.note(`${label}: the writer waited ${gaps.length ? gaps.join("; ") : `nowhere longer than ${GAP_MS} ms`}`);
        return { prefix: w.prefix, report, lost: verified.lostWrites };
    }

    /**
     * Accounts for every key a writer left on the master: each acknowledged write is there, and any
     * other write there is one the client sent without learning its outcome (a reply that timed out
     * or a connection that dropped: the server may have applied it). Returns the keys found.
     */
    async accountForWrites(label: string, prefix: string, report: WriterReport): Promise<number> {
        const present = new Set((await redisScan(MASTER, this.password, `${prefix}:*`)).map((k) => Number(k.slice(prefix.length + 1))));
        const acked = new Set(report.acknowledgedSeqs);
        const missing = report.acknowledgedSeqs.filter((seq) => !present.has(seq));
        const extra = [...present].filter((seq) => !acked.has(seq)).sort((a, b) => a - b);
        const inDoubt = Object.entries(report.failures).filter(([cause]) => !NEVER_SENT.test(cause)).reduce((n, [, count]) => n + count, 0);
        const at = (seq: number) => {
            const before = report.acknowledgedSeqs.findIndex((s) => s > seq);
            const t = (i: number) => (i >= 0 && i < report.ackTimes.length ? Math.round(report.ackTimes[i] - report.startedAt) : "-");
            return `${seq} (between acks at ${t(before - 1)} and ${t(before)} ms; longest gap ${Math.round(report.downtimeFrom - report.startedAt)}-${Math.round(report.downtimeTo - report.startedAt)} ms)`;
        };
        if (extra.length) this.note(`${label}: ${extra.length} write(s) applied though the client saw no reply: ${extra.map(at).join(", ")}`);
        assert.deepEqual(missing, [], `${label}: acknowledged writes missing on ${MASTER}`);
        assert.ok(extra.every((seq) => Number.isInteger(seq) && seq >= 1 && seq <= report.attempts), `${label}: keys the writer never wrote: ${extra.join(", ")}`);
        assert.ok(extra.length <= inDoubt, `${label}: ${extra.length} unacknowledged writes applied, but only ${inDoubt} were sent without an answer: ${JSON.stringify(report.failures)}`);
        return present.size;
    }
}
