import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { crashDuring, exec, fault, Inventory, setQuiet } from "../../sandbox";
import { crashPointsOf } from "../../lib/core/actions/reversible";
import { inOrder, PlannedStep } from "../../lib/core/plan";
import { resolveRedisHa } from "../../lib/redis/args";
import { planRedisHa } from "../../lib/redis/plan";
import { freshLegacyRedis, redisPassword } from "../../tools/redis-site";
import { CrashLedger, withoutSaveResidue, pickPoints } from "../support/crash-ledger";
import { hostOf, runStepScript, sandboxUp, sshTarget } from "../support/hosts";
import { eventually, redisDigest, vipHolders } from "../support/redis";
import { assertLegacyTreesBack, backupsLeft, HOSTS, legacyTrees, MASTER, RedisScenario } from "../support/redis-scenario";

/*
 * Crash-resume of every step that changes a host, at the level of the scripts (no engine): the
 * migration's steps run in the plan's order on the sandbox's legacy pair, as the engine would run
 * them, and each one is crashed at several points inside it (the start, the middle and just
 * before the end; every point with CRASH_POINTS=all): the host loses every process at once
 * (SIGKILL), boots (fresh /run, sshd, the site's boot services), and the step runs again, as the
 * next `up` would, until it completes. Then the inverses, in reverse order, crashed the same way,
 * as the next `destroy` would run them. A client writes through the VIP all along: no write
 * acknowledged outside a crash window of the master (a save just before the crash to the crash,
 * what a crash of the legacy master would lose anyway) may be lost, neither after the migration
 * nor after the rollback; the rollback restores the legacy files byte for byte and the pair.
 */

const COMPONENT = "redis";

/** The managed keepalived pair's VRRP password in this test. */
const VRRP_PASSWORD = "crash-vr";

/** What the plan feeds a step on stdin: the pair's password, and for the stage steps the VRRP password too. */
function stdinOf(step: PlannedStep, password: string): string {
    return step.id.endsWith("-stage") ? `${password}\n${VRRP_PASSWORD}\n` : `${password}\n`;
}

/** A plan of the site program's pair for the sandbox's inventory. */
function sitePlan(inv: Inventory, password: string): PlannedStep[] {
    const key = fs.readFileSync(inv.hosts[0].privateKeyPath, "utf8");
    const host = (name: string) => ({ name, address: hostOf(inv, name).address, privateKey: key, hostKey: hostOf(inv, name).hostPublicKey });
    const r = resolveRedisHa(COMPONENT, {
        master: host("h1"),
        slave: host("h2"),
        vip: { address: inv.vip!.address, prefix: inv.vip!.prefixLength, interface: "eth0", virtualRouterId: 51, password: VRRP_PASSWORD },
        password,
        version: "7.0.15",
    });
    return inOrder(planRedisHa(COMPONENT, r));
}

describe("Redis crash-resume, script by script: every step that changes a host, crashed at its start, middle and end, forward and inverse", function () {
    const scenario = new RedisScenario();
    let inv: Inventory;
    let password = "";
    let steps: PlannedStep[] = [];
    let trees: Awaited<ReturnType<typeof legacyTrees>>;
    let digest = "";
    let forwardLedger: CrashLedger;
    const figures: string[] = [];
    const note = (line: string) => {
        figures.push(line);
        console.log(`      ${line}`);
    };

    /** Runs one direction of `step`, crashing its host at each of `points` in turn, then to the end. */
    async function runWithCrashes(step: PlannedStep, direction: "forward" | "inverse", ledger: CrashLedger): Promise<number> {
        const body = direction === "forward" ? step.action.forward : step.action.inverse;
        const target = sshTarget(hostOf(inv, step.host));
        const run = () => runStepScript(target, { component: COMPONENT, step: step.id, direction, body, stdin: stdinOf(step, password), timeoutSeconds: 300 });
        const points = pickPoints(body);
        for (const point of points) {
            await ledger.beforeCrash(step.host);
            const started = Date.now();
            const { crashed, result, error } = await crashDuring([{ host: step.host, component: COMPONENT, step: step.id, direction, point }], run);
            assert.ok(crashed.length === 1, `${step.id} ${direction}: never reached crash point "${point}": ${result ? `exit ${result.code}: ${result.stderr}` : String(error)}`);
            ledger.crashed(step.host, `${step.id} ${direction} at ${point}`);
            await fault(step.host, "up");
            note(`${step.host} ${step.id} ${direction}: ran to "${point}", crashed, booted: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        }
        const result = await run();
        assert.equal(result.code, 0, `${step.id} ${direction} after ${points.length} crash(es):\n${result.stderr}\n${result.stdout}`);
        return points.length;
    }

    before(async function () {
        this.timeout(300_000);
        setQuiet(true);
        inv = await sandboxUp();
        const migrated = await exec(MASTER, "[ -L /etc/init.d/redis ] || [ -e /etc/init.d/redis_bak ] || [ -e /app/middleware ]");
        if (inv.redis === undefined || migrated.code === 0) inv = await freshLegacyRedis();
        password = redisPassword(inv);
        Object.assign(scenario, { inv, password, vip: inv.vip!.address });
        steps = sitePlan(inv, password);
        trees = await legacyTrees();
        digest = await redisDigest(MASTER, password);
    });

    after(async function () {
        if (figures.length) console.log(`      figures:\n${figures.map((f) => `        ${f}`).join("\n")}`);
    });

    it("finds crash points in every step that changes a host, forward and inverse", function () {
        for (const s of steps.filter((x) => x.kind !== "check")) {
            assert.ok(crashPointsOf(s.action.forward).length >= 3, `${s.id} forward: ${crashPointsOf(s.action.forward).join(", ")}`);
            assert.ok(crashPointsOf(s.action.inverse).length >= 3, `${s.id} inverse: ${crashPointsOf(s.action.inverse).join(", ")}`);
            for (const d of [s.action.forward, s.action.inverse]) assert.equal(new Set(crashPointsOf(d)).size, crashPointsOf(d).length, `${s.id}: point names are unique`);
        }
    });

    it("the migration completes when each step is crashed at its start, middle and end and run again; no acknowledged write lost", async function () {
        this.timeout(1_800_000);
        const started = Date.now();
        forwardLedger = new CrashLedger(inv.vip!.address, password, MASTER, hostOf(inv, MASTER).address, "forward");
        let crashes = 0;
        for (const step of steps) {
            if (step.kind === "check") {
                const r = await runStepScript(sshTarget(hostOf(inv, step.host)), { component: COMPONENT, step: step.id, direction: "forward", body: step.action.forward, stdin: stdinOf(step, password) });
                assert.equal(r.code, 0, `${step.id}: ${r.stderr}`);
                continue;
            }
            crashes += await runWithCrashes(step, "forward", forwardLedger);
        }
        await forwardLedger.stop();
        const v = await forwardLedger.verify("after the migration");
        note(`migration with ${crashes} crashes: ${((Date.now() - started) / 1000).toFixed(0)} s; writes ${v.acknowledged}/${v.attempts} acknowledged, ${v.lost} lost (${v.lostInWindows} in crash windows of the master)`);
        const server = (await exec(MASTER, "readlink /proc/$(cat /app/middleware/redis/run/redis.pid)/exe")).stdout.trim();
        assert.ok(server.startsWith("/app/middleware/redis/versions/"), `the managed master serves: ${server}`);
    });

    it("the rollback completes when each inverse is crashed at its start, middle and end and run again; the legacy site is back", async function () {
        this.timeout(1_800_000);
        const started = Date.now();
        const ledger = new CrashLedger(inv.vip!.address, password, MASTER, hostOf(inv, MASTER).address, "inverse");
        let crashes = 0;
        for (const step of [...steps].reverse()) {
            if (step.kind === "check" || !step.action.inverse) continue;
            crashes += await runWithCrashes(step, "inverse", ledger);
        }
        await ledger.stop();
        const v = await ledger.verify("after the rollback");
        const f = await forwardLedger.verify("the migration's writes after the rollback");
        note(`rollback with ${crashes} crashes: ${((Date.now() - started) / 1000).toFixed(0)} s; writes ${v.acknowledged}/${v.attempts} acknowledged, ${v.lost} lost (${v.lostInWindows} in crash windows of the master); of the migration's ${f.acknowledged}, ${f.lost} lost`);
        assertLegacyTreesBack(withoutSaveResidue(trees), withoutSaveResidue(await legacyTrees(), note), "after the crashed rollback");
        assert.deepEqual(await backupsLeft(), []);
        await scenario.replicaCaughtUp();
        // The last crash may have been the master's own: its legacy keepalived takes the VIP after its
        // master-down interval (as after any reboot of the legacy master).
        const vip = scenario.vip;
        assert.ok(await eventually(async () => JSON.stringify(await vipHolders(HOSTS, vip)) === JSON.stringify([MASTER]), 20_000), "the VIP comes back to the master");
        await scenario.assertLegacyPair("after the crashed rollback");
        assert.notEqual(await redisDigest(MASTER, password), digest, "the data carries the writes made since");
        for (const h of HOSTS) {
            const left = (await exec(h, "ls -d /app/middleware* /var/lib/middleware/crash-point* 2>/dev/null || :")).stdout.trim();
            assert.equal(left, "", `${h}: left behind: ${left}`);
        }
    });
});
