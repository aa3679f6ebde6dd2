import * as assert from "node:assert/strict";
import { crashDuring, CrashTarget, fault, setQuiet } from "../../sandbox";
import { REDIS_STEPS as S } from "../../lib/redis/plan";
import { CrashLedger, withoutSaveResidue } from "../support/crash-ledger";
import { journalMark, journalSince } from "../support/journal";
import { eventually, redisInfo, vipHolders } from "../support/redis";
import {
    assertLegacyTreesBack, backupsLeft, COMPONENT, HOSTS, legacyTrees, MANAGED_REDIS, MASTER, RedisScenario, SLAVE, story,
} from "../support/redis-scenario";

/*
 * Crash-resume through the real engine: one migration of the sandbox's legacy pair driven by
 * successive `pulumi up`s, each crashing a host (every process killed at once) at the next point
 * inside a step; the host boots (fresh /run, sshd, the site's boot services) and the next `up`
 * resumes. Then one `destroy` after another, each crashing a host inside an inverse, until the
 * rollback completes. A client writes through the VIP all along. The reported case is among
 * them: the master killed just after master-switch started, then `up` again; and the one behind
 * its `both exist` error: killed after the switch had linked the init scripts.
 *
 * (Every point of every step, forward and inverse, is crashed at script level in
 * test/sandbox/redis-crash.test.ts; this file proves the engine's journal, the state, resumes.)
 */

const s = new RedisScenario();
const at = (host: string, step: string, direction: "forward" | "inverse", point: string): CrashTarget => ({ host, component: COMPONENT, step, direction, point });

/** Each `up` crashes at these points (several hosts at once when the engine runs their steps side by side). */
const UP_CRASHES: CrashTarget[][] = [
    [at(MASTER, S.masterStage, "forward", "keepalived copied"), at(SLAVE, S.slaveStage, "forward", "start")],
    [at(SLAVE, S.slaveInstall, "forward", "before current")],
    [at(MASTER, S.masterInstall, "forward", "end")],
    [at(SLAVE, S.slaveOut, "forward", "backup /etc/init.d/redis")],
    [at(MASTER, S.masterSwitch, "forward", "start")],
    [at(MASTER, S.masterSwitch, "forward", "backup /etc/init.d/keepalived")],
    [at(MASTER, S.masterSwitch, "forward", "linked")],
    [at(MASTER, S.masterSwitch, "forward", "end")],
    [at(SLAVE, S.slaveIn, "forward", "in sync")],
];

/** Each `destroy` crashes at these points. */
const DESTROY_CRASHES: CrashTarget[][] = [
    [at(SLAVE, S.slaveIn, "inverse", "keepalived stopped")],
    [at(MASTER, S.masterSwitch, "inverse", "managed stopped")],
    [at(MASTER, S.masterSwitch, "inverse", "data carried")],
    [at(MASTER, S.masterSwitch, "inverse", "legacy serving")],
    [at(SLAVE, S.slaveOut, "inverse", "restore /etc/init.d/redis")],
    [at(MASTER, S.masterStage, "inverse", "moved aside"), at(SLAVE, S.slaveStage, "inverse", "moved aside")],
];

describe("Redis crash-resume through the engine: successive ups, each crashing a host inside the next step, then successive destroys", function () {
    let ledger: CrashLedger;
    /** The ledger of the writes of the phase under way: a crash opens its windows there. */
    let current: CrashLedger;
    let trees: Awaited<ReturnType<typeof legacyTrees>>;

    before(async function () {
        this.timeout(300_000);
        setQuiet(true);
        await s.freshScenario("crash chain");
        trees = await legacyTrees();
        ledger = new CrashLedger(s.vip, s.password, MASTER, s.inv.hosts[0].address, "engine");
        current = ledger;
    });

    after(async function () {
        this.timeout(300_000);
        await ledger?.stop().catch(() => undefined);
        await s.endFile();
    });

    /** Runs `op` with `targets` armed; asserts it failed with every host crashed, then boots them. */
    async function crashed(what: string, targets: CrashTarget[], op: () => Promise<unknown>): Promise<void> {
        for (const t of targets) await current.beforeCrash(t.host);
        const { crashed: hosts, error } = await s.timed(what, () => crashDuring(targets, op)).then((r) => r.result!);
        const where = targets.map((t) => `${t.host} ${t.step} ${t.direction} at "${t.point}"`).join(" + ");
        assert.deepEqual([...hosts].sort(), targets.map((t) => t.host).sort(), `${what}: crashed ${where}? ${error ? String(error).slice(0, 2000) : "it succeeded"}`);
        assert.ok(error, `${what}: fails`);
        assert.match(String(error), /remote command exited without exit status or exit signal|ECONNRESET|connection lost/i, `${what}: the crash is reported`);
        for (const t of targets) current.crashed(t.host, where);
        for (const t of targets) await fault(t.host, "up");
    }

    it("up after up, each crashed at the next point (the master just after master-switch started among them), completes the migration", async function () {
        this.timeout(1_800_000);
        for (const [i, targets] of UP_CRASHES.entries()) {
            await crashed(`up #${i + 1} crashing ${targets.map((t) => `${t.host} ${t.step} at "${t.point}"`).join(" + ")}`, targets, () => s.stack!.up());
        }
        const mark = await journalMark(HOSTS);
        const { result, error } = await s.timed(`up #${UP_CRASHES.length + 1}, resuming`, () => s.stack!.up());
        assert.ifError(error);
        assert.equal(result!.summary.result, "succeeded");
        assert.deepEqual(story(await journalSince(mark, COMPONENT)), [`${SLAVE} ${S.slaveIn} forward ok`], "the last up ran only what was left");
        assert.ok((await redisInfo(MASTER, s.password, "server")).executable.startsWith(`${MANAGED_REDIS}/`), "the managed master serves");
        assert.equal((await redisInfo(SLAVE, s.password, "replication")).master_link_status, "up");
        assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER]);
        assert.match(await s.stepStdout(S.masterSwitch), /resuming|already runs/, "the switch that completed was a resumed one");
        await ledger.stop();
        const v = await ledger.verify("after the migration");
        s.note(`migration through ${UP_CRASHES.length} crashed ups: writes ${v.acknowledged}/${v.attempts} acknowledged, ${v.lost} lost (${v.lostInWindows} in crash windows of the master, acknowledged after its last save)`);
    });

    it("destroy after destroy, each crashed inside an inverse, restores the legacy site with every acknowledged write", async function () {
        this.timeout(1_800_000);
        const rollback = new CrashLedger(s.vip, s.password, MASTER, s.inv.hosts[0].address, "engine-rollback");
        current = rollback;
        try {
            for (const [i, targets] of DESTROY_CRASHES.entries()) {
                await crashed(`destroy #${i + 1} crashing ${targets.map((t) => `${t.host} ${t.step} inverse at "${t.point}"`).join(" + ")}`, targets, () => s.stack!.destroy());
            }
            const { result, error } = await s.timed(`destroy #${DESTROY_CRASHES.length + 1}, resuming`, () => s.stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
        } finally {
            await rollback.stop();
        }
        assert.deepEqual(await s.stepsInState(), []);
        assertLegacyTreesBack(withoutSaveResidue(trees), withoutSaveResidue(await legacyTrees(), (l) => s.note(l)), "after the crashed rollback");
        assert.deepEqual(await backupsLeft(), []);
        await s.replicaCaughtUp();
        // The last crash may have been the master's own: its legacy keepalived takes the VIP after its
        // master-down interval (as after any reboot of the legacy master).
        const vip = s.vip;
        assert.ok(await eventually(async () => JSON.stringify(await vipHolders(HOSTS, vip)) === JSON.stringify([MASTER]), 20_000), "the VIP comes back to the master");
        await s.assertLegacyPair("after the crashed rollback");
        const v = await rollback.verify("after the rollback");
        const f = await ledger.verify("the migration's writes after the rollback");
        s.note(`rollback through ${DESTROY_CRASHES.length} crashed destroys: writes ${v.acknowledged}/${v.attempts} acknowledged, ${v.lost} lost (${v.lostInWindows} in crash windows of the master); of the migration's ${f.acknowledged}, ${f.lost} lost (${f.lostInWindows} in crash windows)`);
    });
});
