import * as assert from "node:assert/strict";
import { requireInstalled } from "../../../sandbox/prerequisites";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { connect, Redis } from "../../../bench/redis-client";
import { startWriter, verifyWrites, WriterReport } from "../../../bench/writer";

const REDIS_SERVER = "/usr/bin/redis-server";
const HOST = "127.0.0.1";
const PASSWORD = "bench-pw";
const DIR = fs.mkdtempSync("/tmp/bench-redis-");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, HOST, () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

/** Starts a throwaway redis-server on loopback, without persistence, and waits for PING. */
async function startRedis(port: number): Promise<ChildProcess> {
    const child = spawn(REDIS_SERVER, [
        "--port", String(port), "--bind", HOST, "--requirepass", PASSWORD,
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--enable-debug-command", "local",
        "--dir", DIR,
    ], { stdio: "ignore" });
    const deadline = performance.now() + 10_000;
    for (;;) {
        try {
            const c = await connect({ host: HOST, port, password: PASSWORD, connectTimeoutMs: 500, commandTimeoutMs: 500 });
            const pong = await c.ping().finally(() => c.disconnect());
            if (pong === "PONG") return child;
        } catch (e) {
            if (child.exitCode !== null || performance.now() > deadline) throw new Error(`redis-server did not start: ${e}`);
            await sleep(50);
        }
    }
}

function stopRedis(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
    });
}

const acksAfter = (r: WriterReport, t: number) => r.ackTimes.filter((at) => at > t).length;

describe("bench/writer against a real redis-server", function () {
    this.timeout(60_000);
    let port: number;
    let server: ChildProcess;
    let admin: Redis;
    const target = () => ({ host: HOST, port, password: PASSWORD });

    before(async function () {
        // redis-server is a prerequisite (npm run prerequisites, before mocha): checked, never installed here.
        requireInstalled(REDIS_SERVER, "redis-server");
        port = await freePort();
        server = await startRedis(port);
        admin = await connect({ ...target(), connectTimeoutMs: 1000, commandTimeoutMs: 5000 });
    });

    after(async function () {
        admin?.disconnect();
        if (server !== undefined) {
            if (server.pid !== undefined) process.kill(server.pid, "SIGCONT");
            await stopRedis(server);
        }
        fs.rmSync(DIR, { recursive: true, force: true });
    });

    it("writes every ~10 ms and reads every acknowledged write back", async function () {
        const writer = startWriter({ ...target(), keyPrefix: "steady" });
        await sleep(1000);
        const report = await writer.stop();
        assert.equal(report.failed, 0, JSON.stringify(report.failures));
        assert.ok(report.attempts >= 60 && report.attempts <= 110, `${report.attempts} attempts`);
        assert.deepEqual(report.acknowledgedSeqs, Array.from({ length: report.attempts }, (_, i) => i + 1));
        assert.ok(report.downtimeMs < 200, `${report.downtimeMs} ms`);
        assert.deepEqual(await verifyWrites({ ...target(), keyPrefix: "steady", report }), { checked: report.attempts, lostWrites: 0, lostSeqs: [] });
    });

    it("reports a 0.5 s stall of the server (DEBUG SLEEP) as downtime", async function () {
        const writer = startWriter({ ...target(), keyPrefix: "stall" });
        await sleep(1000);
        await admin.call("DEBUG", "SLEEP", "0.5");
        await sleep(500);
        const report = await writer.stop();
        assert.ok(report.downtimeMs >= 450 && report.downtimeMs < 1500, `${report.downtimeMs} ms`);
        const lost = await verifyWrites({ ...target(), keyPrefix: "stall", report });
        assert.equal(lost.lostWrites, 0);
    });

    let stopped: WriterReport;

    it("counts failures while the server is frozen (SIGSTOP), recovers, and loses no acknowledged write", async function () {
        const writer = startWriter({ ...target(), keyPrefix: "frozen" });
        await sleep(500);
        process.kill(server.pid!, "SIGSTOP");
        await sleep(1500);
        process.kill(server.pid!, "SIGCONT");
        const resumed = performance.now();
        await sleep(500);
        stopped = await writer.stop();
        assert.ok(stopped.failed > 0, JSON.stringify(stopped));
        assert.equal(stopped.attempts, stopped.acknowledged + stopped.failed);
        assert.ok(acksAfter(stopped, resumed) > 0, "no acknowledgement after SIGCONT");
        assert.ok(stopped.downtimeMs >= 1450 && stopped.downtimeMs < 2500, `${stopped.downtimeMs} ms`);
        const lost = await verifyWrites({ ...target(), keyPrefix: "frozen", report: stopped });
        assert.deepEqual(lost, { checked: stopped.acknowledged, lostWrites: 0, lostSeqs: [] });
    });

    it("finds acknowledged keys that were deleted, overwritten or flushed", async function () {
        const seqs = stopped.acknowledgedSeqs;
        const gone = [seqs[0], seqs[10], seqs[seqs.length - 1]];
        const wrong = seqs[20];
        await admin.del(gone.map((s) => `frozen:${s}`));
        await admin.set(`frozen:${wrong}`, "not the seq");
        const some = await verifyWrites({ ...target(), keyPrefix: "frozen", report: stopped, batchSize: 7 });
        assert.deepEqual(some.lostSeqs, [...gone, wrong].sort((a, b) => a - b));
        assert.equal(some.lostWrites, 4);

        await admin.flushall();
        const all = await verifyWrites({ ...target(), keyPrefix: "frozen", report: stopped });
        assert.equal(all.lostWrites, stopped.acknowledged);
    });

    it("reconnects after the server restarts, and finds the writes the restart lost", async function () {
        admin.disconnect();
        const writer = startWriter({ ...target(), keyPrefix: "restart" });
        await sleep(500);
        const killed = performance.now();
        await stopRedis(server);
        await sleep(300);
        server = await startRedis(port);
        const restarted = performance.now();
        await sleep(500);
        const report = await writer.stop();
        admin = await connect({ ...target(), connectTimeoutMs: 1000, commandTimeoutMs: 5000 });
        assert.ok(report.failed > 0, JSON.stringify(report.failures));
        assert.ok(acksAfter(report, restarted) > 0, "no acknowledgement after the restart");
        // nothing was persisted: what was acknowledged before the kill is gone, the rest is there
        const before = report.ackTimes.filter((at) => at < killed).length;
        const lost = await verifyWrites({ ...target(), keyPrefix: "restart", report });
        assert.ok(lost.lostWrites >= before && lost.lostWrites < report.acknowledged, `${lost.lostWrites} lost, ${before} before the kill, ${report.acknowledged} acknowledged`);
    });
});
