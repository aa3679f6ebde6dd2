import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { exec, fault, Inventory, setQuiet } from "../../sandbox";
import { checkpointPath, projectRoot } from "../../tools/engine";
import { freshLegacyRedis, redisPassword, siteStack } from "../../tools/redis-site";
import { startWriter, verifyWrites, Writer, WriterReport } from "../../bench/writer";
import { REDIS_HA_TYPE } from "../../lib/redis/component";
import { REDIS_STEPS } from "../../lib/redis/plan";
import { READY_STEP } from "../../lib/core/materialize";
import { JournalLine, journalMark, journalSince } from "../support/journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "../support/tree";
import { eventually, existingWithSuffix, redisDbsize, redisDigest, redisInfo, redisOnHost, redisScan, vipHolders } from "../support/redis";

/*
 * The Redis topology through the real engine: the sandbox's legacy pair (master h1, slave h2,
 * keepalived VIP) migrated with `pulumi up` and rolled back with `pulumi destroy` through the
 * Automation API, with a client writing through the VIP; a full disk on the master in the
 * switch window; and the site's files, data and roles compared before and after.
 *
 * Each scenario starts from a fresh legacy site (sandbox down + up) and its own stack; the
 * file leaves a legacy site with the sandbox up.
 */

const PROJECT = "middleware";
const COMPONENT = "redis";
const HOSTS = ["h1", "h2"] as const;
const MASTER = "h1";
const SLAVE = "h2";
const PORT = 6379;
const STEP_TYPE = "pulumi-nodejs:dynamic:Resource";
const MANAGED_ROOT = "/app/middleware";
const MANAGED_REDIS = "/app/middleware/redis";
/** The legacy paths the runbook renames to `_bak`, in its order. */
const RENAMED = [
    "/app/soft/redis-5.0.5",
    "/app/soft/keepalived",
    "/etc/init.d/redis",
    "/etc/init.d/keepalived",
    "/app/redis_data",
    "/etc/redis/redis.conf",
    "/etc/keepalived/keepalived.conf",
];
/** Everything of the legacy site that must come back byte for byte. */
const LEGACY_PATHS = [...RENAMED, "/etc/keepalived/check_redis.sh"];
/** The one file whose bytes a migration and its rollback rewrite (the switch's SAVE); compared by data instead. */
const LEGACY_RDB = "/app/redis_data/dump.rdb";
const LEGACY_EXECUTABLE = "/app/soft/redis-5.0.5/bin/redis-server";
/** Steps whose forward action has an inverse, in the plan's order. */
const REVERSIBLE = [
    `${MASTER} ${REDIS_STEPS.masterStage}`,
    `${SLAVE} ${REDIS_STEPS.slaveStage}`,
    `${SLAVE} ${REDIS_STEPS.slaveOut}`,
    `${MASTER} ${REDIS_STEPS.masterSwitch}`,
    `${SLAVE} ${REDIS_STEPS.slaveIn}`,
];
/** Steps the engine runs side by side (same dependencies), by group: their relative order is free in both directions. */
const CONCURRENT = new Map([
    [`${MASTER} ${REDIS_STEPS.masterPrecheck}`, "prechecks"],
    [`${SLAVE} ${REDIS_STEPS.slavePrecheck}`, "prechecks"],
    [`${MASTER} ${REDIS_STEPS.masterStage}`, "stages"],
    [`${SLAVE} ${REDIS_STEPS.slaveStage}`, "stages"],
]);

let inv: Inventory;
let password: string;
let vip: string;
let stack: Stack | undefined;
let stackName = "";
let scenario = 0;
/** False while a scenario has the site migrated or half migrated; `after` then lays out a fresh legacy site. */
let siteIsLegacy = false;
const figures: string[] = [];

function note(line: string): void {
    figures.push(line);
    console.log(`      ${line}`);
}

/** Runs an engine operation and records its duration. */
async function timed<T>(what: string, op: () => Promise<T>): Promise<{ result?: T; error?: Error; ms: number }> {
    const started = Date.now();
    try {
        const result = await op();
        const ms = Date.now() - started;
        note(`${what}: ${(ms / 1000).toFixed(1)} s`);
        return { result, ms };
    } catch (e) {
        const ms = Date.now() - started;
        note(`${what} (failed): ${(ms / 1000).toFixed(1)} s`);
        return { error: e as Error, ms };
    }
}

/** The URN of a step of the component, as the engine names it. */
function stepUrn(host: string, step: string): string {
    return `urn:pulumi:${stackName}::${PROJECT}::${REDIS_HA_TYPE}$${STEP_TYPE}::${COMPONENT}-${host}-${step}`;
}

/** The URN of the component itself (targeted steps need their parent). */
function componentUrn(): string {
    return `urn:pulumi:${stackName}::${PROJECT}::${REDIS_HA_TYPE}::${COMPONENT}`;
}

/** The step resources in the stack's state, as `host step`, sorted. */
async function stepsInState(): Promise<string[]> {
    const state = await stack!.exportStack();
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
async function stepStdout(step: string): Promise<string> {
    const state = await stack!.exportStack();
    const r = ((state.deployment.resources ?? []) as { urn: string; outputs?: Record<string, unknown> }[]).find((x) => x.urn.endsWith(`-${step}`));
    assert.ok(r, `no resource of step ${step} in the state`);
    const stdout = r.outputs?.stdout;
    assert.equal(typeof stdout, "string", `${step}: outputs.stdout is ${JSON.stringify(stdout)}`);
    return stdout as string;
}

/** A fresh legacy site and a new stack of the site program for it. */
async function freshScenario(label: string): Promise<void> {
    siteIsLegacy = false;
    inv = await freshLegacyRedis();
    password = redisPassword(inv);
    vip = inv.vip!.address;
    stackName = `test-redis-${process.pid}-${++scenario}`;
    stack = await siteStack(stackName);
    console.log(`      ${label}: fresh legacy site (${inv.redis!.datasetKeys} keys), stack ${stackName}`);
}

/** Forgets the scenario's stack without running anything (the next scenario lays out a fresh site). */
async function dropStack(): Promise<void> {
    if (!stack) return;
    const name = stackName;
    await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    fs.rmSync(path.join(projectRoot, "stacks", `Pulumi.${name}.yaml`), { force: true });
    // removeStack leaves the last checkpoint's backups, the update history and the backups of each update behind.
    const checkpoint = checkpointPath(PROJECT, name);
    for (const suffix of [".json.bak", ".json.bak.attrs"]) fs.rmSync(checkpoint.replace(/\.json$/, suffix), { force: true });
    const backend = path.dirname(path.dirname(path.dirname(checkpoint)));
    for (const dir of ["history", "backups"]) fs.rmSync(path.join(backend, dir, PROJECT, name), { recursive: true, force: true });
    stack = undefined;
}

async function onHost(host: string, cmd: string): Promise<string> {
    const r = await exec(host, cmd);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/** The legacy paths of both hosts. */
async function legacyTrees(): Promise<Record<string, TreeSnapshot>> {
    const out: Record<string, TreeSnapshot> = {};
    for (const h of HOSTS) out[h] = await treeSnapshot(h, LEGACY_PATHS);
    return out;
}

/**
 * Asserts the legacy paths are byte-identical to `before` in names, types, modes, owners,
 * link targets and contents, except the content of the RDB (its type, mode and owner count).
 */
function assertLegacyTreesBack(before: Record<string, TreeSnapshot>, now: Record<string, TreeSnapshot>, what: string): void {
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
async function backupsLeft(): Promise<string[]> {
    const found: string[] = [];
    for (const h of HOSTS) found.push(...(await existingWithSuffix(h, RENAMED)).map((p) => `${h} ${p}`));
    return found;
}

/** Asserts the legacy pair serves as it was laid out: roles, replication, binaries, VIP on the master. */
async function assertLegacyPair(what: string): Promise<void> {
    const [mServer, mRepl] = [await redisInfo(MASTER, password, "server"), await redisInfo(MASTER, password, "replication")];
    assert.equal(mServer.executable, LEGACY_EXECUTABLE, `${what}: the master runs the legacy binary`);
    assert.equal(mRepl.role, "master", `${what}: ${MASTER} is the master`);
    assert.equal(mRepl.connected_slaves, "1", `${what}: one replica connected to ${MASTER}`);
    assert.match(mRepl.slave0 ?? "", new RegExp(`^ip=${inv.hosts[1].address.replace(/\./g, "\\.")},port=${PORT},state=online,`), `${what}: ${SLAVE} replicates online`);
    const [sServer, sRepl] = [await redisInfo(SLAVE, password, "server"), await redisInfo(SLAVE, password, "replication")];
    assert.equal(sServer.executable, LEGACY_EXECUTABLE, `${what}: the slave runs the legacy binary`);
    assert.equal(sRepl.role, "slave", `${what}: ${SLAVE} is a replica`);
    assert.equal(sRepl.master_host, inv.hosts[0].address, `${what}: ${SLAVE} replicates from ${MASTER}`);
    assert.equal(sRepl.master_link_status, "up", `${what}: the replication link is up`);
    assert.deepEqual(await vipHolders(HOSTS, vip), [MASTER], `${what}: the VIP is on ${MASTER} only`);
    for (const h of HOSTS) {
        for (const p of ["/etc/init.d/redis", "/etc/init.d/keepalived"]) {
            assert.equal((await onHost(h, `[ -L ${p} ] && echo link || echo file`)).trim(), "file", `${what}: ${h}: ${p} is the legacy script again`);
        }
        assert.deepEqual((await existingWithSuffix(h, [MANAGED_ROOT], "")), [], `${what}: ${h}: ${MANAGED_ROOT} is gone`);
    }
}

/** Waits until the replica holds as many keys as the master; returns both counts. */
async function replicaCaughtUp(): Promise<{ master: number; slave: number }> {
    let counts = { master: -1, slave: -2 };
    await eventually(async () => {
        counts = { master: await redisDbsize(MASTER, password), slave: await redisDbsize(SLAVE, password) };
        return counts.master === counts.slave;
    }, 20_000);
    return counts;
}

/** A writer through the VIP, a fresh key prefix per run. */
function writer(label: string): { prefix: string; writer: Writer } {
    const prefix = `engine-test:${label}:${Date.now()}`;
    return { prefix, writer: startWriter({ host: vip, port: PORT, password, keyPrefix: prefix, intervalMs: 10 }) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Shortest stretch without an acknowledged write that {@link writerGaps} lists. */
const GAP_MS = 250;

/**
 * The stretches without an acknowledged write longer than {@link GAP_MS}, each with the steps that
 * may have been running then: those whose journal line (written when a step ends; the hosts and
 * this process share one clock) came after the stretch began, up to the first one after it ended.
 * Says where a client waited, not only how long.
 */
function writerGaps(report: WriterReport, lines: readonly JournalLine[]): string[] {
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
 * Runs `op` while a writer writes through the VIP (from 1 s before to 1 s after); reports the
 * writes, verifies them, and tells where the writer waited.
 */
async function withWriter(label: string, op: () => Promise<void>): Promise<{ prefix: string; report: WriterReport; lost: number }> {
    const mark = await journalMark(HOSTS);
    const w = writer(label);
    let report: WriterReport | undefined;
    try {
        await sleep(1000);
        await op();
        await sleep(1000);
    } finally {
        report = await w.writer.stop();
    }
    const verified = await verifyWrites({ host: vip, port: PORT, password, keyPrefix: w.prefix, report });
    note(`${label}: writer downtime ${Math.round(report.downtimeMs)} ms, ${report.acknowledged}/${report.attempts} writes acknowledged, ${verified.lostWrites} lost` +
        `${Object.keys(report.failures).length ? `, failures ${JSON.stringify(report.failures)}` : ""}`);
    const gaps = writerGaps(report, await journalSince(mark, COMPONENT));
    note(`${label}: the writer waited ${gaps.length ? gaps.join("; ") : `nowhere longer than ${GAP_MS} ms`}`);
    return { prefix: w.prefix, report, lost: verified.lostWrites };
}

/** Failures of a write that never reached a server (it cannot have been applied). */
const NEVER_SENT = /^(connect to |ECONNREFUSED$|EHOSTUNREACH$|ENETUNREACH$)/;

/**
 * Accounts for every key a writer left on the master: each acknowledged write is there, and any
 * other write there is one the client sent without learning its outcome (a reply that timed out
 * or a connection that dropped: the server may have applied it). Returns the keys found.
 */
async function accountForWrites(label: string, prefix: string, report: WriterReport): Promise<number> {
    const present = new Set((await redisScan(MASTER, password, `${prefix}:*`)).map((k) => Number(k.slice(prefix.length + 1))));
    const acked = new Set(report.acknowledgedSeqs);
    const missing = report.acknowledgedSeqs.filter((seq) => !present.has(seq));
    const extra = [...present].filter((seq) => !acked.has(seq)).sort((a, b) => a - b);
    const inDoubt = Object.entries(report.failures).filter(([cause]) => !NEVER_SENT.test(cause)).reduce((n, [, count]) => n + count, 0);
    const at = (seq: number) => {
        const before = report.acknowledgedSeqs.findIndex((s) => s > seq);
        const t = (i: number) => (i >= 0 && i < report.ackTimes.length ? Math.round(report.ackTimes[i] - report.startedAt) : "-");
        return `${seq} (between acks at ${t(before - 1)} and ${t(before)} ms; longest gap ${Math.round(report.downtimeFrom - report.startedAt)}-${Math.round(report.downtimeTo - report.startedAt)} ms)`;
    };
    if (extra.length) note(`${label}: ${extra.length} write(s) applied though the client saw no reply: ${extra.map(at).join(", ")}`);
    assert.deepEqual(missing, [], `${label}: acknowledged writes missing on ${MASTER}`);
    assert.ok(extra.every((seq) => Number.isInteger(seq) && seq >= 1 && seq <= report.attempts), `${label}: keys the writer never wrote: ${extra.join(", ")}`);
    assert.ok(extra.length <= inDoubt, `${label}: ${extra.length} unacknowledged writes applied, but only ${inDoubt} were sent without an answer: ${JSON.stringify(report.failures)}`);
    return present.size;
}

/** `host step direction outcome`, without the readiness polls. */
function story(lines: readonly JournalLine[]): string[] {
    return lines.filter((l) => l.step !== READY_STEP).map((l) => `${l.host} ${l.step} ${l.direction} ${l.outcome}`);
}

/**
 * Orders each run of adjacent entries of one concurrent group by text, so that sequences compare
 * regardless of how the engine interleaved steps it runs side by side. An entry is `host step`,
 * optionally followed by more words (direction, outcome).
 */
function settleConcurrent(entries: readonly string[]): string[] {
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

/** Asserts the journal lines since a mark are a complete migration, then exactly its inverses in reverse order. */
function assertInversesReverseForwards(lines: readonly JournalLine[], what: string): void {
    const changes = lines.filter((l) => l.step !== READY_STEP);
    assert.ok(changes.every((l) => l.outcome === "ok"), `${what}: every step ran ok:\n${story(lines).join("\n")}`);
    const forwards = changes.filter((l) => l.direction === "forward").map((l) => `${l.host} ${l.step}`);
    const inverses = changes.filter((l) => l.direction === "inverse").map((l) => `${l.host} ${l.step}`);
    const firstInverse = changes.findIndex((l) => l.direction === "inverse");
    assert.ok(changes.slice(firstInverse).every((l) => l.direction === "inverse"), `${what}: every inverse runs after every forward action:\n${story(lines).join("\n")}`);
    const plan = [`${MASTER} ${REDIS_STEPS.masterPrecheck}`, `${SLAVE} ${REDIS_STEPS.slavePrecheck}`, ...REVERSIBLE];
    assert.deepEqual(settleConcurrent(forwards), settleConcurrent(plan), `${what}: the forward actions in plan order`);
    assert.deepEqual(settleConcurrent(inverses), settleConcurrent(forwards.filter((s) => REVERSIBLE.includes(s)).reverse()), `${what}: inverses in reverse order of the forwards`);
}

/** The targeted `up` of everything up to and including slave-out (the master untouched). */
async function upToSlaveOut(): Promise<void> {
    const target = [
        componentUrn(),
        stepUrn(MASTER, READY_STEP),
        stepUrn(SLAVE, READY_STEP),
        stepUrn(MASTER, REDIS_STEPS.masterPrecheck),
        stepUrn(SLAVE, REDIS_STEPS.slavePrecheck),
        stepUrn(MASTER, REDIS_STEPS.masterStage),
        stepUrn(SLAVE, REDIS_STEPS.slaveStage),
        stepUrn(SLAVE, REDIS_STEPS.slaveOut),
    ];
    const { result, error } = await timed("targeted up to slave-out", () => stack!.up({ target }));
    assert.ifError(error);
    assert.equal(result!.summary.result, "succeeded");
    assert.deepEqual(await stepsInState(), [
        `${MASTER} ${REDIS_STEPS.masterPrecheck}`,
        `${MASTER} ${REDIS_STEPS.masterStage}`,
        `${MASTER} ${READY_STEP}`,
        `${SLAVE} ${READY_STEP}`,
        `${SLAVE} ${REDIS_STEPS.slaveOut}`,
        `${SLAVE} ${REDIS_STEPS.slavePrecheck}`,
        `${SLAVE} ${REDIS_STEPS.slaveStage}`,
    ].sort());
    assert.deepEqual(await existingWithSuffix(MASTER, RENAMED), [], "the master is untouched so far");
    assert.equal((await existingWithSuffix(SLAVE, RENAMED)).length, RENAMED.length, "the slave's legacy paths are backed up");
}

/**
 * The full `up` with the master's disk full: it fails in the switch window, with the step and the
 * host's stderr in the error, and leaves the master's legacy layout in place. Whether the switch's
 * inverse undid the window cleanly is for the caller to assert (the error and the journal lines).
 */
async function upFailsInTheSwitch(): Promise<{ error: Error; lines: string[] }> {
    const since = await journalMark(HOSTS);
    // A fresh save first, so that no periodic background save of the legacy master falls into the
    // full-disk period: a failed one refuses writes with MISCONF, a fault of the disk, not of the switch.
    assert.equal(await redisOnHost(MASTER, password, ["SAVE"]), "OK");
    await fault(MASTER, "fill-disk");
    const { error } = await timed(`up with ${MASTER}'s disk full`, () => stack!.up());
    assert.ok(error, "up must fail");
    const diagnostic = [...new Set(error.message.split("\n").map((l) => l.trim()).filter((l) => /^(error: redis\/|middleware: |its inverse|undoing)/.test(l)))];
    console.log(`      the engine reported:\n${diagnostic.map((l) => `        | ${l}`).join("\n")}`);
    assert.match(error.message, new RegExp(`${COMPONENT}/${REDIS_STEPS.masterSwitch} on ${MASTER}: forward action failed with exit code 1`));
    assert.match(error.message, /middleware: SAVE answered ERR, expected OK/, "the host's stderr (the refused SAVE) is in the error");
    const lines = story(await journalSince(since, COMPONENT));
    assert.equal(lines[0], `${MASTER} ${REDIS_STEPS.masterSwitch} forward failed(1)`, lines.join("\n"));
    assert.ok(!(await stepsInState()).includes(`${MASTER} ${REDIS_STEPS.masterSwitch}`), "the failed switch is not in the state");
    assert.deepEqual(await existingWithSuffix(MASTER, RENAMED), [], `no _bak on ${MASTER}`);
    const server = await redisInfo(MASTER, password, "server");
    assert.equal(server.executable, LEGACY_EXECUTABLE, "the legacy master still runs");
    assert.equal((await redisInfo(MASTER, password, "replication")).role, "master");
    assert.deepEqual(await vipHolders(HOSTS, vip), [MASTER], `the VIP stays on ${MASTER}`);
    return { error, lines };
}

describe("Redis pair through the engine (real pulumi up / destroy on the sandbox's legacy site)", function () {
    before(function () {
        setQuiet(true);
    });

    after(async function () {
        this.timeout(300_000);
        for (const h of HOSTS) await fault(h, "free-disk").catch(() => undefined);
        await dropStack();
        if (!siteIsLegacy) {
            console.log("      leaving a fresh legacy site behind");
            await freshLegacyRedis();
        }
        if (figures.length) console.log(`      figures:\n${figures.map((f) => `        ${f}`).join("\n")}`);
    });

    describe("migration with a writer, a second up, rollback with a writer", function () {
        let first: { prefix: string; report: WriterReport };

        before(async function () {
            this.timeout(300_000);
            await freshScenario("migration with a writer");
        });

        after(async function () {
            this.timeout(60_000);
            await dropStack();
        });

        it("up migrates while a client writes through the VIP: no acknowledged write lost, data proven, h1 managed master, h2 managed replica, VIP on h1", async function () {
            this.timeout(600_000);
            const run = await withWriter("migration", async () => {
                const { result, error } = await timed("up (migration, with a writer)", () => stack!.up());
                assert.ifError(error);
                assert.equal(result!.summary.result, "succeeded");
                assert.equal(result!.summary.resourceChanges?.create, 11, JSON.stringify(result!.summary.resourceChanges));
            });
            first = run;
            assert.equal(run.lost, 0, "lost writes");
            assert.ok(run.report.acknowledged > 0);
            assert.ok(Number.isFinite(run.report.downtimeMs) && run.report.downtimeMs > 0);
            // The write pause lasts 60 s at most; a switch that forgot to unpause would show here.
            assert.ok(run.report.downtimeMs < 10_000, `downtime ${Math.round(run.report.downtimeMs)} ms`);

            const switchOut = await stepStdout(REDIS_STEPS.masterSwitch);
            assert.match(switchOut, /data proven equal/);
            console.log(`      the switch window on ${MASTER}:\n${switchOut.trim().split("\n").filter((l) => /ms:|proven/.test(l)).map((l) => `        | ${l}`).join("\n")}`);

            const mServer = await redisInfo(MASTER, password, "server");
            assert.ok(mServer.executable.startsWith(`${MANAGED_REDIS}/`), `${MASTER} runs ${mServer.executable}`);
            const mRepl = await redisInfo(MASTER, password, "replication");
            assert.equal(mRepl.role, "master");
            assert.equal(mRepl.connected_slaves, "1");
            assert.match(mRepl.slave0, new RegExp(`^ip=${inv.hosts[1].address.replace(/\./g, "\\.")},port=${PORT},state=online,`));
            const sServer = await redisInfo(SLAVE, password, "server");
            assert.ok(sServer.executable.startsWith(`${MANAGED_REDIS}/`), `${SLAVE} runs ${sServer.executable}`);
            const sRepl = await redisInfo(SLAVE, password, "replication");
            assert.equal(sRepl.role, "slave");
            assert.equal(sRepl.master_host, inv.hosts[0].address);
            assert.equal(sRepl.master_link_status, "up");
            assert.deepEqual(await vipHolders(HOSTS, vip), [MASTER], `the VIP is on ${MASTER} only`);

            const written = await accountForWrites("migration", run.prefix, run.report);
            const expected = inv.redis!.datasetKeys + written;
            assert.equal(await redisDbsize(MASTER, password), expected, "keys = data set + the writer's keys");
            assert.deepEqual(await replicaCaughtUp(), { master: expected, slave: expected });

            for (const h of HOSTS) {
                for (const service of ["redis", "keepalived"]) {
                    assert.equal((await onHost(h, `readlink /etc/init.d/${service}`)).trim(), `${MANAGED_REDIS}/init.d/${service}`, `${h}: /etc/init.d/${service}`);
                    const r = await exec(h, `service ${service} status`);
                    assert.equal(r.code, 0, `${h}: service ${service} status: ${r.stdout}${r.stderr}`);
                    assert.match(r.stdout, /is running/);
                }
            }
        });

        it("a second up changes nothing and runs nothing on the hosts", async function () {
            this.timeout(300_000);
            const before = await journalMark(HOSTS);
            const { result, error } = await timed("second up (nothing to do)", () => stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"], JSON.stringify(result!.summary.resourceChanges));
            assert.deepEqual(await journalMark(HOSTS), before, "no journal line on any host");
        });

        it("destroy with a writer carries every acknowledged write back to the legacy master (those before and during the rollback)", async function () {
            this.timeout(600_000);
            const run = await withWriter("rollback", async () => {
                const { result, error } = await timed("destroy (rollback, with a writer)", () => stack!.destroy());
                assert.ifError(error);
                assert.equal(result!.summary.result, "succeeded");
            });
            assert.equal(run.lost, 0, "writes acknowledged during the rollback that are lost");
            assert.ok(run.report.acknowledged > 0);
            assert.ok(Number.isFinite(run.report.downtimeMs) && run.report.downtimeMs > 0, "the rollback's downtime is reported");
            const before = await verifyWrites({ host: vip, port: PORT, password, keyPrefix: first.prefix, report: first.report });
            assert.equal(before.lostWrites, 0, "writes acknowledged during the migration that the rollback lost");
            assert.deepEqual(await stepsInState(), []);
            await assertLegacyPair("after the rollback");
            const expected = inv.redis!.datasetKeys + (await accountForWrites("migration (after the rollback)", first.prefix, first.report)) +
                (await accountForWrites("rollback", run.prefix, run.report));
            assert.equal(await redisDbsize(MASTER, password), expected, "keys = data set + the writers' keys");
            assert.deepEqual(await replicaCaughtUp(), { master: expected, slave: expected });
            assert.deepEqual(await backupsLeft(), []);
            siteIsLegacy = true;
        });
    });

    describe("migration and rollback without writes", function () {
        before(async function () {
            this.timeout(300_000);
            await freshScenario("migration and rollback without writes");
        });

        after(async function () {
            this.timeout(60_000);
            await dropStack();
        });

        it("destroy restores the legacy site byte for byte (but the RDB's bytes), with the same data, roles and VIP; the journals show the inverses in reverse order", async function () {
            this.timeout(600_000);
            const trees = await legacyTrees();
            const digest = await redisDigest(MASTER, password);
            const mark = await journalMark(HOSTS);

            const up = await timed("up (migration)", () => stack!.up());
            assert.ifError(up.error);
            assert.equal(up.result!.summary.result, "succeeded");
            assert.equal(await redisDigest(MASTER, password), digest, "the managed master holds the same data");
            const down = await timed("destroy (rollback)", () => stack!.destroy());
            assert.ifError(down.error);
            assert.equal(down.result!.summary.result, "succeeded");
            assert.deepEqual(await stepsInState(), []);

            assertLegacyTreesBack(trees, await legacyTrees(), "after the rollback");
            assert.equal(await redisDigest(MASTER, password), digest, "DEBUG DIGEST of the legacy master as before the migration");
            await replicaCaughtUp();
            assert.equal(await redisDigest(SLAVE, password), digest, "the legacy slave holds the same data");
            assert.deepEqual(await backupsLeft(), [], "no _bak remains");
            await assertLegacyPair("after the rollback");
            const lines = await journalSince(mark, COMPONENT);
            console.log(`      journals, merged by time:\n${story(lines).map((l) => `        | ${l}`).join("\n")}`);
            assertInversesReverseForwards(lines, "migration then rollback");
            siteIsLegacy = true;
        });
    });

    describe("a full disk on the master in the switch window, then a resumed up", function () {
        before(async function () {
            this.timeout(300_000);
            await freshScenario("full disk, then resume");
        });

        after(async function () {
            this.timeout(60_000);
            await fault(MASTER, "free-disk").catch(() => undefined);
            await dropStack();
        });

        it("up fails cleanly in master-switch: the error names the step and the host's stderr; the legacy master keeps serving writes through the VIP", async function () {
            this.timeout(600_000);
            await upToSlaveOut();
            try {
                const failed = await upFailsInTheSwitch();
                const after = writer("after-failure");
                await sleep(1500);
                const report = await after.writer.stop();
                const verified = await verifyWrites({ host: vip, port: PORT, password, keyPrefix: after.prefix, report });
                note(`writes after the failed switch: ${report.acknowledged}/${report.attempts} acknowledged, first after ${report.ackTimes.length ? Math.round(report.ackTimes[0] - report.startedAt) : "-"} ms, ${verified.lostWrites} lost`);
                // A failed switch runs its inverse at once: it must undo the window (unpause) without an error.
                assert.match(failed.error.message, /its inverse ran and undid what it had done/);
                assert.deepEqual(failed.lines, [`${MASTER} ${REDIS_STEPS.masterSwitch} forward failed(1)`, `${MASTER} ${REDIS_STEPS.masterSwitch} inverse ok`]);
                assert.ok(report.acknowledged > 0, `the legacy master acknowledges writes: ${JSON.stringify(report.failures)}`);
                assert.ok(report.ackTimes[0] - report.startedAt < 1000, "writes are not paused");
                assert.equal(verified.lostWrites, 0);
            } finally {
                await fault(MASTER, "free-disk");
            }
        });

        it("after free-disk, a second up resumes: it creates only master-switch and slave-in and completes the migration", async function () {
            this.timeout(600_000);
            const since = await journalMark(HOSTS);
            const { result, error } = await timed("up resuming after free-disk", () => stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(result!.summary.resourceChanges, { create: 2, same: 9 });
            assert.deepEqual(story(await journalSince(since, COMPONENT)), [
                `${MASTER} ${REDIS_STEPS.masterSwitch} forward ok`,
                `${SLAVE} ${REDIS_STEPS.slaveIn} forward ok`,
            ]);
            assert.match(await stepStdout(REDIS_STEPS.masterSwitch), /data proven equal/);
            assert.ok((await redisInfo(MASTER, password, "server")).executable.startsWith(`${MANAGED_REDIS}/`));
            assert.equal((await redisInfo(SLAVE, password, "replication")).master_link_status, "up");
            assert.deepEqual(await vipHolders(HOSTS, vip), [MASTER]);
        });
    });

    describe("a full disk on the master in the switch window, then destroy", function () {
        before(async function () {
            this.timeout(300_000);
            await freshScenario("full disk, then rollback");
        });

        it("destroy after the failed switch (and free-disk) restores the legacy site: files, data, roles, VIP", async function () {
            this.timeout(600_000);
            const trees = await legacyTrees();
            const digest = await redisDigest(MASTER, password);
            const mark = await journalMark(HOSTS);
            await upToSlaveOut();
            try {
                await upFailsInTheSwitch();
            } finally {
                await fault(MASTER, "free-disk");
            }
            const beforeDestroy = await journalMark(HOSTS);
            const { result, error } = await timed("destroy after the failed switch", () => stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(await stepsInState(), []);
            assertLegacyTreesBack(trees, await legacyTrees(), "after the failed switch and the rollback");
            assert.equal(await redisDigest(MASTER, password), digest, "DEBUG DIGEST of the legacy master as before");
            await replicaCaughtUp();
            assert.equal(await redisDigest(SLAVE, password), digest, "the legacy slave holds the same data");
            assert.deepEqual(await backupsLeft(), []);
            await assertLegacyPair("after the failed switch and the rollback");
            const lines = story(await journalSince(mark, COMPONENT));
            console.log(`      journals, merged by time:\n${lines.map((l) => `        | ${l}`).join("\n")}`);
            // destroy undoes exactly the completed steps, in reverse; the failed switch is not among them.
            assert.deepEqual(settleConcurrent(story(await journalSince(beforeDestroy, COMPONENT))), settleConcurrent([
                `${SLAVE} ${REDIS_STEPS.slaveOut} inverse ok`,
                `${MASTER} ${REDIS_STEPS.masterStage} inverse ok`,
                `${SLAVE} ${REDIS_STEPS.slaveStage} inverse ok`,
            ]));
            siteIsLegacy = true;
        });

        after(async function () {
            this.timeout(60_000);
            await dropStack();
        });
    });
});
