import * as assert from "node:assert/strict";
import { crashDuring, CrashTarget, exec, fault, setQuiet } from "../../sandbox";
import { missingPrerequisitesError } from "../../sandbox/prerequisites";
import { postgresBinDir, postgresVersionsReady } from "../../sandbox/sites/postgres-versions";
import { breakUpgradeAfterCheck, patchPostgresConfig } from "../../tools/postgres-site";
import { POSTGRES_STEPS } from "../../lib/postgres/plan";
import { COMPONENT, DATA_DIR, MASTER, PostgresScenario, psqlOn, SPARE, STANDBY } from "../support/postgres-scenario";

/*
 * The major upgrade of the PostgreSQL pair (Debian's 15 to 16.2) through the real engine, with a
 * client committing through the VIP every 10 ms: an upgrade whose pg_upgrade fails takes the
 * runbook's way back (the standby kept on 15 promoted, the master rebuilt from an empty data
 * directory as its standby) with every acknowledged commit kept, and destroy restores the site;
 * an upgrade that succeeds serves 16 behind the VIP, and its way back is refused once 16 took
 * writes, until the operator asks for it.
 */

/** A smaller data set than postgres-ha's (the bench upgrades the full one): base backups and pg_upgrade scale with it. */
const ORDERS = 200_000;

/** The upgrade the tests configure. */
const UPGRADE = { version: "16", binDir: postgresBinDir("16") };

const s = new PostgresScenario();

async function serverMajor(host: string): Promise<string> {
    return (await psqlOn(host, "SHOW server_version_num")).slice(0, 2);
}

describe("PostgresHa major upgrade through the engine", function () {
    this.timeout(900_000);

    before(async function () {
        setQuiet(true);
        if (!postgresVersionsReady()) throw missingPrerequisitesError([`PostgreSQL ${UPGRADE.version} under ${UPGRADE.binDir}`]);
        await s.fresh("postgres upgrade tests", {}, undefined, ORDERS);
    });

    after(async function () {
        await s.dropStack();
        s.printFigures();
    });

    it("fails an upgrade pg_upgrade --check refuses with the primary serving; takes the runbook's way back when pg_upgrade fails after the stop, losing no acknowledged commit; destroy restores the site", async function () {
        const before = await s.masterConfig();
        await s.setPrimary(MASTER);
        assert.ifError((await s.timed("up (standby build)", () => s.stack!.up())).error);
        // A column type pg_upgrade refuses to carry over: its --check finds it while the primary serves.
        await psqlOn(MASTER, "CREATE TABLE mw_upgrade_blocker (f regproc)");
        await patchPostgresConfig(s.stack!, { upgrade: UPGRADE });
        const checked = await s.withWriter("major upgrade refused by pg_upgrade --check", async () => {
            const story = await s.journalOf(async () => {
                const { error } = await s.timed("up (pg_upgrade --check fails)", () => s.stack!.up());
                assert.ok(error, "the up fails");
                assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.masterUpgrade} on ${MASTER}: forward action failed`));
                assert.match(error!.message, /pg_upgrade --check failed, nothing was stopped/);
                assert.match(error!.message, /reg\* data types/);
            });
            assert.deepEqual(story, [
                `${STANDBY} ${POSTGRES_STEPS.standbyOldVersion} forward ok`,
                `${MASTER} ${POSTGRES_STEPS.masterUpgrade} forward failed(1)`,
                `${MASTER} ${POSTGRES_STEPS.masterUpgrade} inverse ok`,
            ]);
        });
        assert.ok(checked.report.writeGapMs < 1000, `a refused check stops nothing: write gap ${Math.round(checked.report.writeGapMs)} ms`);
        await s.assertPair(MASTER, STANDBY, "after the refused check");
        assert.equal(await serverMajor(MASTER), "15");
        await psqlOn(MASTER, "DROP TABLE mw_upgrade_blocker");

        // A table file missing on the master (its standby has it): --check passes, pg_upgrade --link fails after the stop.
        const blocker = await breakUpgradeAfterCheck(MASTER, DATA_DIR, psqlOn);
        const failed = await s.withWriter("major upgrade failing, way back", async () => {
            const story = await s.journalOf(async () => {
                const { error } = await s.timed("up (pg_upgrade fails)", () => s.stack!.up());
                assert.ok(error, "the up fails");
                assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.masterUpgrade} on ${MASTER}: forward action failed`));
                assert.match(error!.message, /pg_upgrade failed.*mw_upgrade_blocker/s);
            });
            assert.deepEqual(story, [
                `${MASTER} ${POSTGRES_STEPS.masterUpgrade} forward failed(1)`,
                `${MASTER} ${POSTGRES_STEPS.masterUpgrade} inverse ok`,
            ]);
        });
        s.note(`way back after a failed upgrade: write gap ${Math.round(failed.report.writeGapMs)} ms, 0 lost`);
        // The runbook's end state: the standby kept on 15 is the primary, the master streams from it, rebuilt.
        await s.assertPair(STANDBY, MASTER, "after the way back");
        assert.equal(await serverMajor(STANDBY), "15");
        assert.equal(await serverMajor(MASTER), "15");

        await psqlOn(STANDBY, `DROP TABLE ${blocker}`);
        await s.withWriter("destroy after the way back", async () => {
            assert.ifError((await s.timed("destroy (after the way back)", () => s.stack!.destroy())).error);
        });
        await s.assertLegacy("after destroy");
        s.assertSameConfig(before, await s.masterConfig(), "after a failed upgrade, its way back and destroy");
    });

    it("upgrades to 16 behind the VIP losing nothing, the standby rebuilt on 16 and the spare kept on 15; refuses the way back once 16 took writes, and takes it through the spare when told to", async function () {
        const before = await s.masterConfig();
        await patchPostgresConfig(s.stack!, { upgrade: undefined, spare: SPARE });
        assert.ifError((await s.timed("up (standby and spare build)", () => s.stack!.up())).error);
        await s.assertPair(MASTER, SPARE, "the spare built");
        await patchPostgresConfig(s.stack!, { upgrade: UPGRADE });

        await s.withWriter("major upgrade with a spare", async () => {
            const story = await s.journalOf(async () => {
                assert.ifError((await s.timed("up (major upgrade, spare kept on 15)", () => s.stack!.up())).error);
            }, [MASTER, STANDBY, SPARE]);
            assert.deepEqual(story, [
                `${STANDBY} ${POSTGRES_STEPS.standbyFollowsMaster} forward ok`, `${SPARE} ${POSTGRES_STEPS.spareOldVersion} forward ok`,
                `${MASTER} ${POSTGRES_STEPS.masterUpgrade} forward ok`, `${STANDBY} ${POSTGRES_STEPS.standbyNewVersion} forward ok`,
            ]);
        });
        assert.equal(await serverMajor(MASTER), "16");
        assert.equal(await serverMajor(STANDBY), "16", "the standby is rebuilt on 16");
        await s.assertPair(MASTER, STANDBY, "after the upgrade, the standby on 16");
        assert.equal(await serverMajor(SPARE), "15");
        assert.equal(await psqlOn(SPARE, "SELECT pg_is_in_recovery()"), "t", "the spare stays on 15, in recovery");
        const again = await s.journalOf(async () => {
            const { result, error } = await s.timed("second up after the upgrade", () => s.stack!.up());
            assert.ifError(error);
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"]);
        }, [MASTER, STANDBY, SPARE]);
        assert.deepEqual(again, [], "a second up after the upgrade runs no remote command");

        let refusal = "";
        await s.withWriter("way back refused", async () => {
            const { error } = await s.timed("destroy (refused)", () => s.stack!.destroy());
            assert.ok(error, "destroy fails");
            assert.match(error!.message, new RegExp(`postgres/${POSTGRES_STEPS.masterUpgrade} on ${MASTER}`));
            assert.match(error!.message, /refusing the way back to PostgreSQL 15: the upgraded cluster on this host has assigned [0-9]+ transaction ids since the upgrade/);
            refusal = error!.message;
        });
        assert.equal(await serverMajor(MASTER), "16", "16 still serves after the refusal");
        assert.equal(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), "f");
        // The standby's step ran first: it is back on 15, cascading from the spare.
        assert.equal(await serverMajor(STANDBY), "15");
        assert.equal(await psqlOn(STANDBY, "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver"), `streaming ${s.inv.hosts.find((h) => h.name === SPARE)!.address}`);

        // The upgraded master crashes (its control file may not count the last transactions) and
        // boots; its init script cannot start 16 with 15's pg_ctl. The way back recovers 16 first, and refuses.
        await fault(MASTER, "down");
        await fault(MASTER, "up");
        const afterCrash = await s.timed("destroy after a crash of 16 (refused)", () => s.stack!.destroy());
        assert.ok(afterCrash.error, "destroy fails");
        assert.match(afterCrash.error!.message, /refusing the way back to PostgreSQL 15: the upgraded cluster on this host has assigned [0-9]+ transaction ids/);
        assert.equal(await serverMajor(MASTER), "16", "16 recovered and serves");

        // The operator accepts losing the writes made on 16, as the message says how.
        const touch = /touch (\S+) and run/.exec(refusal);
        assert.ok(touch, "the refusal names the file to create");
        assert.equal((await exec(MASTER, `touch ${touch[1]}`)).code, 0);
        // No writer here: the operator discards what 16 acknowledged.
        assert.ifError((await s.timed("destroy (way back through the spare, told to)", () => s.stack!.destroy())).error);
        await s.assertLegacy("after destroy");
        assert.equal(await serverMajor(MASTER), "15");
        s.assertSameConfig(before, await s.masterConfig(), "after an upgrade and its way back");
    });

    it("resumes an upgrade whose master crashed stopped and after pg_upgrade, and a way back whose master crashed after the promotion and with its data directory emptied", async function () {
        const before = await s.masterConfig();
        await patchPostgresConfig(s.stack!, { upgrade: undefined, spare: undefined });
        assert.ifError((await s.timed("up (standby build)", () => s.stack!.up())).error);
        await patchPostgresConfig(s.stack!, { upgrade: UPGRADE });

        const crash = async (what: string, target: CrashTarget, op: () => Promise<unknown>) => {
            const { crashed, error } = await crashDuring([target], op);
            assert.deepEqual(crashed, [target.host], `${what}: crashed at ${target.point}? ${error ? String(error).slice(0, 1500) : "it succeeded"}`);
            assert.match(String(error), /remote command exited without exit status or exit signal|ECONNRESET|connection lost/i);
            await fault(target.host, "up");
            s.note(`${what}: ${target.host} crashed at "${target.point}", booted`);
        };
        // Stopped for the upgrade: the boot's init script starts 15 again, and the next up stops it again.
        await crash("up", { host: MASTER, component: COMPONENT, step: POSTGRES_STEPS.masterUpgrade, direction: "forward", point: "stopped" }, () => s.stack!.up());
        await crash("up", { host: MASTER, component: COMPONENT, step: POSTGRES_STEPS.masterUpgrade, direction: "forward", point: "upgraded" }, () => s.stack!.up());
        await s.withWriter("upgrade resumed after the crash", async () => {
            assert.ifError((await s.timed("up (resumed upgrade)", () => s.stack!.up())).error);
        });
        assert.equal(await serverMajor(MASTER), "16");
        assert.match(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), /^f$/);

        const discard = `/var/lib/middleware/steps/${COMPONENT}/${POSTGRES_STEPS.masterUpgrade}/discard-commits-after-upgrade`;
        assert.equal((await exec(MASTER, `touch ${discard}`)).code, 0);
        await crash("destroy", { host: MASTER, component: COMPONENT, step: POSTGRES_STEPS.masterUpgrade, direction: "inverse", point: "promoted" }, () => s.stack!.destroy());
        await crash("destroy", { host: MASTER, component: COMPONENT, step: POSTGRES_STEPS.masterUpgrade, direction: "inverse", point: "emptied" }, () => s.stack!.destroy());
        assert.ifError((await s.timed("destroy (resumed way back)", () => s.stack!.destroy())).error);
        await s.assertLegacy("after the resumed way back and destroy");
        s.assertSameConfig(before, await s.masterConfig(), "after the crashes and destroy");
    });
});
