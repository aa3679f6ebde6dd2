import * as assert from "node:assert/strict";
import { exec, setQuiet } from "../../sandbox";
import { freshLegacyRedis } from "../../tools/redis-site";
import { FASTDFS_STEPS } from "../../lib/fastdfs/plan";
import { FastdfsScenario } from "../support/fastdfs-scenario";

/*
 * FastDFS through the real engine, on the sandbox's legacy site (trackers, storages and nginx on
 * h1 and h2, 2000 seeded files; h3 empty), with a client downloading through the VIP and nginx
 * and uploading through the trackers during every operation: the migration (third tracker,
 * legacy trackers, storages one at a time, VIP) and its rollback, every file proven by sha256
 * after each; then a storage that fails to start in the managed layout, resumed and destroyed.
 */

/** The goal for the longest download gap. */
const MAX_DOWNLOAD_GAP_MS = 2000;

const s = new FastdfsScenario();
const ids = FASTDFS_STEPS;

describe("FastDfs through the engine", function () {
    this.timeout(900_000);

    before(async function () {
        setQuiet(true);
        await s.fresh("fastdfs engine tests");
    });

    after(async function () {
        await s.dropStack();
        // The suite's other sandbox and engine tests expect the legacy Redis site.
        if (!process.env.FASTDFS_KEEP_SITE) await freshLegacyRedis();
        s.printFigures();
    });

    it("migrates with downloads served and uploads taken, every file proven; a second up runs nothing; destroy restores the legacy files byte for byte", async function () {
        const before = await s.legacyFiles();
        const up = await s.withClient("migration", async () => {
            const story = await s.journalOf(async () => {
                const { result, error } = await s.timed("up (migration)", () => s.stack!.up());
                assert.ifError(error);
                assert.equal(result!.summary.result, "succeeded");
            });
            const order = story.filter((l) => l.includes(" forward ok") && !l.includes("precheck")).map((l) => l.split(" ").slice(0, 2).join(" "));
            assert.deepEqual(order, [
                `h3 ${ids.addTracker("h3")}`, `h1 ${ids.tracker("h1")}`, `h2 ${ids.tracker("h2")}`,
                `h1 ${ids.learnTrackers("h1")}`, `h2 ${ids.learnTrackers("h2")}`,
                `h1 ${ids.storage("h1")}`, `h2 ${ids.storage("h2")}`, `h1 ${ids.vip("h1")}`, `h2 ${ids.vip("h2")}`,
            ], "the migration's order");
        });
        assert.ok(up.downloadGapMs <= MAX_DOWNLOAD_GAP_MS, `migration: longest download gap ${up.downloadGapMs} ms`);
        await s.assertManaged("after the migration");
        await s.verifyAll("after the migration");

        const again = await s.journalOf(async () => {
            const { result, error } = await s.timed("second up", () => s.stack!.up());
            assert.ifError(error);
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"], "the second up changes nothing");
        });
        assert.deepEqual(again, [], "the second up runs no remote command");

        const down = await s.withClient("rollback", async () => {
            const { result, error } = await s.timed("destroy (rollback)", () => s.stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
        });
        assert.ok(down.downloadGapMs <= MAX_DOWNLOAD_GAP_MS, `rollback: longest download gap ${down.downloadGapMs} ms`);
        await s.assertLegacy("after the rollback");
        s.assertSameFiles(before, await s.legacyFiles(), "after migration and rollback");
        await s.verifyAll("after the rollback");
    });

    it("a storage that fails to start in the managed layout fails up naming the step and host; downloads keep being served; a re-up resumes; destroy restores", async function () {
        const before = await s.legacyFiles();
        // Another process takes the storage port of h2 as soon as its legacy storage is stopped and
        // renamed, for 6 s: the managed fdfs_storaged cannot bind it and exits; the step's undo
        // (after the init script's 10 s) starts the legacy storage on the freed port.
        const squatter = exec("h2", `i=0; until [ -e ${s.inv.fastdfs!.storageDir}_bak ]; do [ $i -lt 30000 ] || exit 1; i=$((i + 1)); sleep 0.01; done; ` +
            `exec ${process.execPath} -e "require('net').createServer().listen(${s.inv.fastdfs!.storagePort}, () => console.log('listening')); setTimeout(() => process.exit(0), 6000)"`);
        let failure: Error | undefined;
        await s.withClient("failed up", async () => {
            failure = (await s.timed("up (storage h2 fails to start)", () => s.stack!.up())).error;
        });
        assert.match((await squatter).stdout, /listening/, "the squatter held the port");
        assert.ok(failure, "up fails");
        assert.match(failure!.message, new RegExp(`fastdfs/${ids.storage("h2")} on h2`), "the error names the step and host");
        assert.match(failure!.message, /managed storage did not start/);
        // The failed step undid itself: the legacy storage and nginx of h2 serve again.
        const legacyBack = await exec("h2", `[ -d ${s.inv.fastdfs!.storageDir} ] && [ -d ${s.inv.fastdfs!.storePath}/data ] && service fdfs_storaged status && service nginx status`);
        assert.equal(legacyBack.code, 0, `h2 runs its legacy storage and nginx again: ${legacyBack.stdout}${legacyBack.stderr}`);
        await s.verifyAll("after the failed up");

        const resumed = await s.withClient("resumed up", async () => {
            const story = await s.journalOf(async () => {
                const { error } = await s.timed("up (resumed)", () => s.stack!.up());
                assert.ifError(error);
            });
            assert.deepEqual(story.filter((l) => l.includes("forward")).map((l) => l.split(" ")[1]),
                [ids.storage("h2"), ids.vip("h1"), ids.vip("h2")], "the re-up runs only what was left");
        });
        assert.ok(resumed.downloadGapMs <= MAX_DOWNLOAD_GAP_MS, `resumed up: longest download gap ${resumed.downloadGapMs} ms`);
        await s.assertManaged("after the resumed up");

        const { error } = await s.timed("destroy", () => s.stack!.destroy());
        assert.ifError(error);
        await s.assertLegacy("after destroy");
        s.assertSameFiles(before, await s.legacyFiles(), "after the failed, resumed and destroyed migration");
        await s.verifyAll("after destroy");
    });
});
