import * as assert from "node:assert/strict";
import { fault, setQuiet } from "../../sandbox";
import { verifyWrites } from "../../bench/writer";
import { REDIS_STEPS } from "../../lib/redis/plan";
import { READY_STEP } from "../../lib/core/materialize";
import { journalMark, journalSince } from "../support/journal";
import { existingWithSuffix, redisDigest, redisInfo, redisOnHost, vipHolders } from "../support/redis";
import { libraryLines } from "../support/engine-error";
import {
    assertLegacyTreesBack, backupsLeft, COMPONENT, HOSTS, LEGACY_EXECUTABLE, legacyTrees, MANAGED_REDIS, MASTER, PORT, RedisScenario, RENAMED,
    settleConcurrent, SLAVE, sleep, story,
} from "../support/redis-scenario";

/*
 * A full disk on the Redis master in the switch window, through the real engine: the sandbox's
 * legacy pair (master h1, slave h2, keepalived VIP) migrated with `pulumi up` through the
 * Automation API while h1's disk is full; the clean failure, a resumed `up` after the disk is
 * freed, and a `pulumi destroy` after the failed switch that restores the site's files, data
 * and roles.
 *
 * Each scenario starts from a fresh legacy site (sandbox down + up) and its own stack.
 */

const s = new RedisScenario();

/** The targeted `up` of everything up to and including slave-out (the master untouched). */
async function upToSlaveOut(): Promise<void> {
    const target = [
        s.componentUrn(),
        s.vrrpPasswordUrn(),
        s.stepUrn(MASTER, READY_STEP),
        s.stepUrn(SLAVE, READY_STEP),
        s.stepUrn(MASTER, REDIS_STEPS.masterPrecheck),
        s.stepUrn(SLAVE, REDIS_STEPS.slavePrecheck),
        s.stepUrn(MASTER, REDIS_STEPS.masterStage),
        s.stepUrn(SLAVE, REDIS_STEPS.slaveStage),
        s.stepUrn(SLAVE, REDIS_STEPS.slaveInstall),
        s.stepUrn(MASTER, REDIS_STEPS.masterInstall),
        s.stepUrn(SLAVE, REDIS_STEPS.slaveOut),
    ];
    const { result, error } = await s.timed("targeted up to slave-out", () => s.stack!.up({ target }));
    assert.ifError(error);
    assert.equal(result!.summary.result, "succeeded");
    assert.deepEqual(await s.stepsInState(), [
        `${MASTER} ${REDIS_STEPS.masterPrecheck}`,
        `${MASTER} ${REDIS_STEPS.masterStage}`,
        `${MASTER} ${REDIS_STEPS.masterInstall}`,
        `${MASTER} ${READY_STEP}`,
        `${SLAVE} ${READY_STEP}`,
        `${SLAVE} ${REDIS_STEPS.slaveOut}`,
        `${SLAVE} ${REDIS_STEPS.slavePrecheck}`,
        `${SLAVE} ${REDIS_STEPS.slaveStage}`,
        `${SLAVE} ${REDIS_STEPS.slaveInstall}`,
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
    assert.equal(await redisOnHost(MASTER, s.password, ["SAVE"]), "OK");
    await fault(MASTER, "fill-disk");
    const { error } = await s.timed(`up with ${MASTER}'s disk full`, () => s.stack!.up());
    assert.ok(error, "up must fail");
    console.log(`      the engine reported:\n${libraryLines(error).map((l) => `        | ${l}`).join("\n")}`);
    assert.match(error.message, new RegExp(`${COMPONENT}/${REDIS_STEPS.masterSwitch} on ${MASTER}: forward action failed with exit code 1`));
    assert.match(error.message, /middleware: SAVE answered ERR, expected OK/, "the host's stderr (the refused SAVE) is in the error");
    const lines = story(await journalSince(since, COMPONENT));
    assert.equal(lines[0], `${MASTER} ${REDIS_STEPS.masterSwitch} forward failed(1)`, lines.join("\n"));
    assert.ok(!(await s.stepsInState()).includes(`${MASTER} ${REDIS_STEPS.masterSwitch}`), "the failed switch is not in the state");
    assert.deepEqual(await existingWithSuffix(MASTER, RENAMED), [], `no _bak on ${MASTER}`);
    const server = await redisInfo(MASTER, s.password, "server");
    assert.equal(server.executable, LEGACY_EXECUTABLE, "the legacy master still runs");
    assert.equal((await redisInfo(MASTER, s.password, "replication")).role, "master");
    assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER], `the VIP stays on ${MASTER}`);
    return { error, lines };
}

describe("Redis faults through the engine (a full disk in the switch window, real pulumi up / destroy on the sandbox's legacy site)", function () {
    before(function () {
        setQuiet(true);
    });

    after(async function () {
        this.timeout(300_000);
        await s.endFile();
    });

    describe("a full disk on the master in the switch window, then a resumed up", function () {
        before(async function () {
            this.timeout(300_000);
            await s.freshScenario("full disk, then resume");
        });

        after(async function () {
            this.timeout(60_000);
            await fault(MASTER, "free-disk").catch(() => undefined);
            await s.dropStack();
        });

        it("up fails cleanly in master-switch: the error names the step and the host's stderr; the legacy master keeps serving writes through the VIP", async function () {
            this.timeout(600_000);
            await upToSlaveOut();
            try {
                const failed = await upFailsInTheSwitch();
                const after = s.writer("after-failure");
                await sleep(1500);
                const report = await after.writer.stop();
                const verified = await verifyWrites({ host: s.vip, port: PORT, password: s.password, keyPrefix: after.prefix, report });
                s.note(`writes after the failed switch: ${report.acknowledged}/${report.attempts} acknowledged, first after ${report.ackTimes.length ? Math.round(report.ackTimes[0] - report.startedAt) : "-"} ms, ${verified.lostWrites} lost`);
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
            const { result, error } = await s.timed("up resuming after free-disk", () => s.stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(result!.summary.resourceChanges, { create: 2, same: 12 });
            assert.deepEqual(story(await journalSince(since, COMPONENT)), [
                `${MASTER} ${REDIS_STEPS.masterSwitch} forward ok`,
                `${SLAVE} ${REDIS_STEPS.slaveIn} forward ok`,
            ]);
            assert.match(await s.stepStdout(REDIS_STEPS.masterSwitch), /data proven equal/);
            assert.ok((await redisInfo(MASTER, s.password, "server")).executable.startsWith(`${MANAGED_REDIS}/`));
            assert.equal((await redisInfo(SLAVE, s.password, "replication")).master_link_status, "up");
            assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER]);
        });
    });

    describe("a full disk on the master in the switch window, then destroy", function () {
        before(async function () {
            this.timeout(300_000);
            await s.freshScenario("full disk, then rollback");
        });

        it("destroy after the failed switch (and free-disk) restores the legacy site: files, data, roles, VIP", async function () {
            this.timeout(600_000);
            const trees = await legacyTrees();
            const digest = await redisDigest(MASTER, s.password);
            const mark = await journalMark(HOSTS);
            await upToSlaveOut();
            try {
                await upFailsInTheSwitch();
            } finally {
                await fault(MASTER, "free-disk");
            }
            const beforeDestroy = await journalMark(HOSTS);
            const { result, error } = await s.timed("destroy after the failed switch", () => s.stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(await s.stepsInState(), []);
            assertLegacyTreesBack(trees, await legacyTrees(), "after the failed switch and the rollback");
            assert.equal(await redisDigest(MASTER, s.password), digest, "DEBUG DIGEST of the legacy master as before");
            await s.replicaCaughtUp();
            assert.equal(await redisDigest(SLAVE, s.password), digest, "the legacy slave holds the same data");
            assert.deepEqual(await backupsLeft(), []);
            await s.assertLegacyPair("after the failed switch and the rollback");
            const lines = story(await journalSince(mark, COMPONENT));
            console.log(`      journals, merged by time:\n${lines.map((l) => `        | ${l}`).join("\n")}`);
            // destroy undoes exactly the completed steps, in reverse; the failed switch is not among them.
            assert.deepEqual(settleConcurrent(story(await journalSince(beforeDestroy, COMPONENT))), settleConcurrent([
                `${SLAVE} ${REDIS_STEPS.slaveOut} inverse ok`,
                `${MASTER} ${REDIS_STEPS.masterInstall} inverse ok`,
                `${SLAVE} ${REDIS_STEPS.slaveInstall} inverse ok`,
                `${MASTER} ${REDIS_STEPS.masterStage} inverse ok`,
                `${SLAVE} ${REDIS_STEPS.slaveStage} inverse ok`,
            ]));
        });

        after(async function () {
            this.timeout(60_000);
            await s.dropStack();
        });
    });
});
