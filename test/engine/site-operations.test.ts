import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { Stack } from "@pulumi/pulumi/automation";
import { setQuiet } from "../../sandbox";
import { SandboxSettings, settingsFromEnv } from "../../sandbox/config";
import { Inventory, readInventory } from "../../sandbox/inventory";
import { REDIS_STEPS as S } from "../../lib/redis/plan";
import { approve, apply, ApprovalRefused, fingerprints } from "../../tools/approval";
import { forgetStack, projectRoot } from "../../tools/engine";
import { runPrechecks } from "../../tools/prechecks";
import { patchRedisConfig, siteStack } from "../../tools/redis-site";
import { runWave, waveTable } from "../../tools/sites";
import { runOverSsh } from "../../tools/ssh";
import { journalMark, journalSince } from "../support/journal";
import { COMPONENT, HOSTS, LEGACY_PATHS, LEGACY_RDB, MASTER, onHost, RedisScenario, SLAVE, story } from "../support/redis-scenario";
import { HostRunner, TreeSnapshot, treeDiff, treeSnapshot } from "../support/tree";

/*
 * Operating sites through the real engine, on two sandbox sites side by side, each its own stack
 * of the site program: site A is the sandbox of this process's environment (the legacy Redis
 * pair), site B a second sandbox under its own prefix, subnet and state dir (another legacy pair).
 *
 * Site A goes through the approval flow: pre-flight checks against its live hosts, `approve`
 * (preview under the policy pack, saved update plan, report), `apply` (`pulumi up --plan`), and
 * an apply refused because the config changed after approval; site B stays untouched. Then
 * waves of both sites through the Automation API (`npm run sites`): one stopped by a broken
 * site, an `up` wave that migrates B, and a `destroy` wave that takes both back.
 */

const run = promisify(execFile);
const SITE_B_ENV = { SANDBOX_PREFIX: "sbb-", SANDBOX_SUBNET: "10.213.49.0/24", SANDBOX_DIR: "/var/lib/pulumi-middleware-sandbox-site-b" };
const PROJECT = "middleware";

/** Runs the sandbox CLI for site B. */
const sandboxB = (...args: string[]) =>
    run("npx", ["ts-node", "--transpile-only", "sandbox/cli.ts", ...args], { cwd: projectRoot, env: { ...process.env, ...SITE_B_ENV }, maxBuffer: 16 * 1024 * 1024 });

/** Commands on site B's hosts, over SSH with its inventory's keys. */
function runnerFor(inv: Inventory): HostRunner {
    return async (host, cmd) => {
        const h = inv.hosts.find((x) => x.name === host)!;
        const target = { host: h.address, port: h.port, user: h.user, privateKey: fs.readFileSync(h.privateKeyPath, "utf8"), hostKey: h.hostPublicKey };
        return runOverSsh(target, cmd, { timeoutSeconds: 60, dialAttempts: 3, dialIntervalSeconds: 1 });
    };
}

/** The legacy trees of site B's pair. */
async function legacyOfB(inv: Inventory): Promise<Record<string, TreeSnapshot>> {
    const out: Record<string, TreeSnapshot> = {};
    for (const h of HOSTS) out[h] = await treeSnapshot(h, LEGACY_PATHS, runnerFor(inv));
    return out;
}

/** Site B's legacy paths are as before, but for the RDB's content (a SAVE rewrites it). */
function assertSiteBAsBefore(before: Record<string, TreeSnapshot>, now: Record<string, TreeSnapshot>, what: string): void {
    for (const h of HOSTS) {
        const diff = treeDiff(before[h], now[h]);
        if (LEGACY_RDB in diff && diff[LEGACY_RDB].every((e) => e?.startsWith("f "))) delete diff[LEGACY_RDB];
        assert.deepEqual(diff, {}, `${what}: site B ${h}: legacy paths changed`);
    }
}

const s = new RedisScenario();

describe("site operations: approval flow on site A, site B untouched, waves of both sites", function () {
    let dir: string;
    let settingsB: SandboxSettings;
    let invB: Inventory;
    let treesB: Record<string, TreeSnapshot>;
    const names = { b: `test-sites-b-${process.pid}`, broken: `test-sites-broken-${process.pid}` };
    let stackB: Stack | undefined;
    let broken: Stack | undefined;

    before(async function () {
        this.timeout(600_000);
        setQuiet(true);
        await s.freshScenario("site A");
        await sandboxB("up", "--hosts", "2", "--site", "legacy-redis", "--keys", "5000");
        settingsB = settingsFromEnv(SITE_B_ENV);
        invB = readInventory(settingsB);
        stackB = await siteStack(names.b, settingsB);
        // A site whose config names a host it does not have: its preview fails at once.
        broken = await siteStack(names.broken);
        const redis = JSON.parse((await broken.getConfig("middleware:redis")).value) as Record<string, unknown>;
        await broken.setConfig("middleware:redis", { value: JSON.stringify({ ...redis, slave: "h9" }) });
        treesB = await legacyOfB(invB);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "approval-"));
        console.log(`      site A ${settingsFromEnv().subnet}, stack ${s.stackName}; site B ${settingsB.subnet}, stack ${names.b}`);
    });

    after(async function () {
        this.timeout(600_000);
        for (const [stack, name] of [[stackB, names.b], [broken, names.broken]] as const) {
            if (!stack) continue;
            await stack.destroy({}).catch(() => undefined);
            await forgetStack(stack, PROJECT, name, path.join(projectRoot, "stacks"));
        }
        await sandboxB("down").catch((e) => console.log(`      site B down: ${e}`));
        await s.endFile();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("precheck: site A passes; with its Redis slave down it fails naming the host and the check, and changes nothing", async function () {
        this.timeout(180_000);
        const healthy = await runPrechecks(s.stackName);
        assert.deepEqual(healthy.checks.map((c) => `${c.host} ${c.step} ${c.passed}`), [`${MASTER} ${S.masterPrecheck} true`, `${SLAVE} ${S.slavePrecheck} true`]);
        const mark = await journalMark(HOSTS);
        await onHost(SLAVE, "/etc/init.d/redis stop");
        try {
            const down = await runPrechecks(s.stackName);
            const slave = down.checks.find((c) => c.step === S.slavePrecheck)!;
            assert.equal(slave.passed, false, "the slave's check fails");
            assert.equal(slave.host, SLAVE);
            assert.match(slave.output, /AUTH with the configured password failed on the legacy redis \(or it is down\)/);
            const master = down.checks.find((c) => c.step === S.masterPrecheck)!;
            assert.equal(master.passed, false, "the master's check fails too: its slave is gone");
            assert.match(master.output, /the slave [\d.]+ is not connected to this master/);
        } finally {
            await onHost(SLAVE, "/etc/init.d/redis start");
        }
        assert.deepEqual(await journalSince(mark, COMPONENT), [], "a pre-flight check writes no journal line");
    });

    it("approve writes the report and the plan; apply carries out exactly that plan on site A; site B is untouched", async function () {
        this.timeout(600_000);
        const a = await approve(s.stackName, { dir: path.join(dir, "first") });
        assert.match(a.report, new RegExp(`^## ${COMPONENT} \\(middleware:redis:RedisHa, \`middleware:redis\`\\): new$`, "m"));
        const row = (host: string, step: string) => new RegExp(`^\\| \\d+ \\| ${host} \\| \`${step}\` \\| create \\| `, "m");
        for (const [host, step] of [[MASTER, S.masterPrecheck], [SLAVE, S.slaveIn], [MASTER, S.masterSwitch]]) assert.match(a.report, row(host, step));
        assert.match(a.report, /\| `master-switch` \| create \| switch window[^|]*\| writes paused, then refused while the VIP moves: about 1 s/);
        assert.ok(a.report.indexOf(`\`${S.slaveOut}\``) < a.report.indexOf(`\`${S.masterSwitch}\``), "steps in the order they run");
        assert.match(a.report, new RegExp(`Plan SHA-256: \`${a.record.planSha256}\``));
        assert.match(a.report, /^Rollback: `pulumi destroy --stack /m);

        const mark = await journalMark(HOSTS);
        const up = await apply(s.stackName, a.planFile);
        assert.equal(up.summary.result, "succeeded");
        assert.ok(story(await journalSince(mark, COMPONENT)).includes(`${MASTER} ${S.masterSwitch} forward ok`), "the migration ran");
        assert.equal((await onHost(MASTER, "[ -L /etc/init.d/redis ] && echo managed")).trim(), "managed", "the master's init script is the managed one");

        assertSiteBAsBefore(treesB, await legacyOfB(invB), "after site A's migration");
        assert.equal((await runnerFor(invB)("h1", "cat /var/lib/middleware/journal 2>/dev/null || true")).stdout, "", "no step ran on site B");
    });

    it("approve, then change the config: apply refuses naming the config, and runs nothing", async function () {
        this.timeout(300_000);
        const a = await approve(s.stackName, { dir: path.join(dir, "second") });
        assert.match(a.report, new RegExp(`^## ${COMPONENT} .*: unchanged$`, "m"), "nothing left to do after the first apply");
        const version = JSON.parse((await s.stack!.getConfig("middleware:redis")).value).version as string;
        await patchRedisConfig(s.stack!, { version: "6.2.7" });
        try {
            const before = await fingerprints(s.stack!);
            const mark = await journalMark(HOSTS);
            await assert.rejects(apply(s.stackName, a.planFile), (e: Error) => {
                assert.ok(e instanceof ApprovalRefused, `refused: ${e.message}`);
                assert.match(e.message, /the config \(stacks\/Pulumi\..*\.yaml or the inventory it names\) changed since approval/);
                assert.match(e.message, /nothing was run/);
                console.log(e.message.replace(/^/gm, "      "));
                return true;
            });
            assert.deepEqual(await journalSince(mark, COMPONENT), [], "no step ran");
            assert.equal((await fingerprints(s.stack!)).state, before.state, "the deployed state is as it was");
        } finally {
            await patchRedisConfig(s.stack!, { version });
        }
    });

    it("a wave stops starting new sites at the first failure, and says so per site", async function () {
        this.timeout(300_000);
        const summaries = await runWave("preview", [names.broken, s.stackName, names.b], { parallel: 1 });
        assert.deepEqual(summaries.map((x) => `${x.stack} ${x.result}`), [`${names.broken} failed`, `${s.stackName} not started`, `${names.b} not started`]);
        assert.match(summaries[0].error ?? "", /middleware:redis\.slave: must name a host of the site \(h1, h2, h3\) \(got "h9"\)/);
        assert.match(waveTable("preview", summaries), new RegExp(`^${names.b}\\s+not started\\s+-\\s+-$`, "m"));
    });

    it("a wave of both sites, two at a time: B migrates, A has nothing to do; a destroy wave takes both back", async function () {
        this.timeout(900_000);
        const up = await runWave("up", [s.stackName, names.b], { parallel: 2 });
        console.log(waveTable("up", up).replace(/^/gm, "      "));
        assert.deepEqual(up.map((x) => x.result), ["succeeded", "succeeded"], up.map((x) => x.error).join("\n"));
        assert.deepEqual(Object.keys(up[0].changes), ["same"], "site A: nothing to do");
        assert.equal(up[1].changes.create, 14, "site B migrated");
        const down = await runWave("destroy", [s.stackName, names.b], { parallel: 2 });
        console.log(waveTable("destroy", down).replace(/^/gm, "      "));
        assert.deepEqual(down.map((x) => `${x.result} ${x.changes.delete}`), ["succeeded 14", "succeeded 14"]);
        await s.assertLegacyPair("site A after the destroy wave");
        assertSiteBAsBefore(treesB, await legacyOfB(invB), "after site B's rollback");
    });
});
