import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setQuiet } from "../../sandbox";
import { REDIS_STEPS as S } from "../../lib/redis/plan";
import { approve, apply, ApprovalRefused, fingerprints } from "../../tools/approval";
import { runPrechecks } from "../../tools/prechecks";
import { patchRedisConfig } from "../../tools/redis-site";
import { journalMark, journalSince } from "../support/journal";
import { COMPONENT, HOSTS, MASTER, onHost, RedisScenario, SLAVE, story } from "../support/redis-scenario";

/*
 * The approval flow on the sandbox's legacy Redis site, through the real engine: pre-flight
 * checks against the live hosts, `approve` (preview, saved update plan, report), `apply`
 * (`pulumi up --plan`), and an apply refused because the config changed after approval.
 */

const s = new RedisScenario();

describe("approval flow: precheck, approve, apply, refused apply (Redis sandbox site)", function () {
    let dir: string;

    before(async function () {
        this.timeout(300_000);
        setQuiet(true);
        await s.freshScenario("approval");
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "approval-"));
    });

    after(async function () {
        this.timeout(600_000);
        // A completed destroy leaves the legacy site (the Redis engine tests prove it).
        s.siteIsLegacy = s.stack !== undefined && (await s.stack.destroy({})).summary.result === "succeeded";
        await s.leaveLegacySite();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("precheck: the healthy site passes; with the Redis slave down it fails naming the host and the check, and changes nothing", async function () {
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

    it("approve writes the report and the plan; apply carries out exactly that plan", async function () {
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
    });

    it("approve, then change the config: apply refuses naming the config, and runs nothing", async function () {
        this.timeout(300_000);
        const a = await approve(s.stackName, { dir: path.join(dir, "second") });
        assert.match(a.report, new RegExp(`^## ${COMPONENT} .*: unchanged$`, "m"), "nothing left to do after the first apply");
        await patchRedisConfig(s.stack!, { version: "6.2.7" });
        const before = await fingerprints(s.stack!);
        const mark = await journalMark(HOSTS);
        await assert.rejects(apply(s.stackName, a.planFile), (e: Error) => {
            assert.ok(e instanceof ApprovalRefused, `refused: ${e.message}`);
            assert.match(e.message, /the config \(stacks\/Pulumi\..*\.yaml or the inventory it names\) changed since approval/);
            assert.match(e.message, /nothing was run/);
            return true;
        });
        assert.deepEqual(await journalSince(mark, COMPONENT), [], "no step ran");
        assert.equal((await fingerprints(s.stack!)).state, before.state, "the deployed state is as it was");
    });
});
