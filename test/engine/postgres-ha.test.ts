import * as assert from "node:assert/strict";
import { crashDuring, CrashTarget, fault, setQuiet } from "../../sandbox";
import { POSTGRES_STEPS } from "../../lib/postgres/plan";
import { COMPONENT, MASTER, PostgresScenario, psqlOn, STANDBY } from "../support/postgres-scenario";

/*
 * The PostgreSQL pair through the real engine, on the sandbox's legacy site (primary h1 with a
 * ~350 MB seeded database behind the keepalived VIP), with a client committing through the VIP
 * every 10 ms during every operation: the standby built and removed, a switchover and back as a
 * change of `primary`, and a switchover that fails (a standby that cannot replay, a promotion
 * refused) with the primary still serving, resumed by a second `up`, and destroyed from there.
 */

/** The longest write gap a switchover or switch back may cause. */
const MAX_SWITCH_GAP_MS = 3000;

const s = new PostgresScenario();

describe("PostgresHa through the engine", function () {
    this.timeout(900_000);

    before(async function () {
        setQuiet(true);
        await s.fresh("postgres engine tests");
    });

    after(async function () {
        await s.dropStack();
        s.printFigures();
    });

    it("builds the standby and removes it, leaving the master's configuration byte for byte; a second up runs nothing", async function () {
        const before = await s.masterConfig();
        await s.withWriter("standby build", async () => {
            const { result, error } = await s.timed("up (standby build)", () => s.stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
        });
        await s.assertPair(MASTER, STANDBY, "after the build");
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'mw_h2' AND active"), "1");

        const again = await s.journalOf(async () => {
            const { result, error } = await s.timed("second up", () => s.stack!.up());
            assert.ifError(error);
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"], "the second up changes nothing");
        });
        assert.deepEqual(again, [], "the second up runs no remote command");

        await s.withWriter("standby removal", async () => {
            const { result, error } = await s.timed("destroy (standby removal)", () => s.stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
        });
        await s.assertLegacy("after the removal");
        s.assertSameConfig(before, await s.masterConfig(), "after build and removal");
    });

    it("switches over as a change of primary and back, losing no acknowledged commit", async function () {
        const before = await s.masterConfig();
        await s.setPrimary(MASTER);
        const built = await s.timed("up (standby build)", () => s.stack!.up());
        assert.ifError(built.error);

        await s.setPrimary(STANDBY);
        const over = await s.withWriter("switchover", async () => {
            const story = await s.journalOf(async () => {
                const { error } = await s.timed("up (switchover)", () => s.stack!.up());
                assert.ifError(error);
            });
            assert.deepEqual(story, [`${STANDBY} ${POSTGRES_STEPS.standbySwitchBack} forward ok`, `${MASTER} ${POSTGRES_STEPS.masterSwitchover} forward ok`]);
        });
        assert.ok(over.report.writeGapMs <= MAX_SWITCH_GAP_MS, `switchover write gap ${Math.round(over.report.writeGapMs)} ms`);
        await s.assertPair(STANDBY, MASTER, "after the switchover");
        const again = await s.journalOf(async () => {
            const { result, error } = await s.timed("second up after the switchover", () => s.stack!.up());
            assert.ifError(error);
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"]);
        });
        assert.deepEqual(again, [], "a second up after the switchover runs no remote command");

        await s.setPrimary(MASTER);
        const back = await s.withWriter("switch back", async () => {
            const story = await s.journalOf(async () => {
                const { error } = await s.timed("up (switch back)", () => s.stack!.up());
                assert.ifError(error);
            });
            assert.deepEqual(story, [`${MASTER} ${POSTGRES_STEPS.masterSwitchover} inverse ok`, `${STANDBY} ${POSTGRES_STEPS.standbySwitchBack} inverse ok`]);
        });
        assert.ok(back.report.writeGapMs <= MAX_SWITCH_GAP_MS, `switch back write gap ${Math.round(back.report.writeGapMs)} ms`);
        await s.assertPair(MASTER, STANDBY, "after the switch back");

        const { error } = await s.timed("destroy", () => s.stack!.destroy());
        assert.ifError(error);
        await s.assertLegacy("after destroy");
        s.assertSameConfig(before, await s.masterConfig(), "after a switchover, back and destroy");
    });

    it("fails a switchover whose standby cannot replay, or whose promotion is refused, with the primary serving; up resumes; destroy restores", async function () {
        const before = await s.masterConfig();
        await s.setPrimary(MASTER);
        assert.ifError((await s.timed("up (standby build)", () => s.stack!.up())).error);
        await s.setPrimary(STANDBY);

        // A standby that cannot catch up: replay paused on h2.
        await psqlOn(STANDBY, "SELECT pg_wal_replay_pause()");
        await s.withWriter("switchover, standby not replaying", async () => {
            const { error } = await s.timed("up (standby not replaying)", () => s.stack!.up());
            assert.ok(error, "the up fails");
            // The standby's check before the switch fails: nothing was stopped.
            assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.standbySwitchBack} on ${STANDBY}: forward action failed`));
            assert.match(error!.message, /the standby to replay up to [0-9A-F/]+ of the primary at [0-9.]+: not within 30 s/);
        });
        assert.equal(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), "f", "h1 is still the primary");
        await psqlOn(STANDBY, "SELECT pg_wal_replay_resume()");

        // A promotion refused: the replication account may no longer promote (replicates to h2).
        await psqlOn(MASTER, "REVOKE EXECUTE ON FUNCTION pg_promote(boolean, integer) FROM replicator");
        await s.withWriter("switchover, promotion refused", async () => {
            const { error } = await s.timed("up (promotion refused)", () => s.stack!.up());
            assert.ok(error, "the up fails");
            assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.masterSwitchover} on ${MASTER}`));
            assert.match(error!.message, /promoting .* failed .*this host serves as the primary again/s);
        });
        await s.assertPair(MASTER, STANDBY, "after the refused promotion");

        await psqlOn(MASTER, "GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO replicator");
        await s.withWriter("switchover, resumed", async () => {
            assert.ifError((await s.timed("up (resumed)", () => s.stack!.up())).error);
        });
        await s.assertPair(STANDBY, MASTER, "after the resumed switchover");

        await s.withWriter("destroy after the faults", async () => {
            assert.ifError((await s.timed("destroy", () => s.stack!.destroy())).error);
        });
        await s.assertLegacy("after destroy");
        s.assertSameConfig(before, await s.masterConfig(), "after the faults and destroy");
    });

    it("after a full disk, a cut link and crashes inside the standby build, the switchover and the switch back, the next up finishes and destroy restores the site, losing no acknowledged commit", async function () {
        const before = await s.masterConfig();
        await s.setPrimary(MASTER);
        const up = () => s.stack!.up();
        const destroy = () => s.stack!.destroy();
        const crash = async (what: string, target: Omit<CrashTarget, "component">, op: () => Promise<unknown>) => {
            const { crashed, error } = await crashDuring([{ ...target, component: COMPONENT }], op);
            assert.deepEqual(crashed, [target.host], `${what}: crashed at ${target.step} ${target.direction} ${target.point}? ${error ? String(error).slice(0, 1500) : "it succeeded"}`);
            assert.match(String(error), /remote command exited without exit status or exit signal|ECONNRESET|connection lost/i);
            await fault(target.host, "up");
            s.note(`${what}: ${target.host} crashed at ${target.step} ${target.direction} "${target.point}", booted`);
        };

        // The standby's data filesystem full: its base backup fails, naming the step and the host; the master serves.
        await fault(STANDBY, "fill-disk");
        try {
            await s.withWriter("standby build on a full disk", async () => {
                const { error } = await s.timed("up (the standby's disk full)", up);
                assert.ok(error, "the up fails");
                assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.standbyBuild} on ${STANDBY}: forward action failed`));
                assert.match(error!.message, /pg_basebackup from [0-9.]+ failed/);
            });
        } finally {
            await fault(STANDBY, "free-disk");
        }
        assert.equal(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), "f", "the master serves");
        await s.withWriter("standby build crashed after its base backup, resumed", async () => {
            await crash("up", { host: STANDBY, step: POSTGRES_STEPS.standbyBuild, direction: "forward", point: "backup-done" }, up);
            assert.ifError((await s.timed("up (the build resumed)", up)).error);
        });
        await s.assertPair(MASTER, STANDBY, "after the resumed build");

        // The standby's link cut: the switchover's first step cannot reach it, fails naming itself and the host, within the dial attempts.
        await s.setPrimary(STANDBY);
        await fault(STANDBY, "cut");
        try {
            const { error } = await s.timed("up (the standby's link cut)", up);
            assert.ok(error, "the up fails");
            // The engine names the step's resource (component-host-step) and the attempts.
            assert.match(error!.message, new RegExp(`postgres-${STANDBY}-${POSTGRES_STEPS.standbySwitchBack} \\*\\*creating failed\\*\\* error: after 5 failed attempts: dial tcp [0-9.]+:22`));
        } finally {
            await fault(STANDBY, "heal");
        }
        assert.equal(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), "f", "the master serves");

        // The old primary crashes stopped before the promotion (its boot starts it as the primary
        // again), then right after it (its boot starts it as a standby of the new primary).
        await s.withWriter("switchover crashed twice, resumed", async () => {
            await crash("up", { host: MASTER, step: POSTGRES_STEPS.masterSwitchover, direction: "forward", point: "stopped" }, up);
            await crash("up", { host: MASTER, step: POSTGRES_STEPS.masterSwitchover, direction: "forward", point: "promoted" }, up);
            assert.ifError((await s.timed("up (the switchover resumed)", up)).error);
        });
        await s.assertPair(STANDBY, MASTER, "after the resumed switchover");

        await s.setPrimary(MASTER);
        await s.withWriter("switch back crashed after the promotion, resumed", async () => {
            await crash("up", { host: STANDBY, step: POSTGRES_STEPS.standbySwitchBack, direction: "inverse", point: "promoted" }, up);
            assert.ifError((await s.timed("up (the switch back resumed)", up)).error);
        });
        await s.assertPair(MASTER, STANDBY, "after the resumed switch back");

        await s.withWriter("standby removal crashed, resumed", async () => {
            await crash("destroy", { host: STANDBY, step: POSTGRES_STEPS.standbyBuild, direction: "inverse", point: "stopped" }, destroy);
            assert.ifError((await s.timed("destroy (resumed)", destroy)).error);
        });
        await s.assertLegacy("after the faults and destroy");
        s.assertSameConfig(before, await s.masterConfig(), "after the faults, crashes and destroy");
    });
});
