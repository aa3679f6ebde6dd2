import * as assert from "node:assert/strict";
import { inventory, setQuiet } from "../../sandbox";
import { resolvePostgresHa, ResolvedPostgresHa } from "../../lib/postgres/args";
import { postgresPreamble } from "../../lib/postgres/pg-sh";
import { planPostgresHa, POSTGRES_STEPS } from "../../lib/postgres/plan";
import type { Plan } from "../../lib/core/plan";
import { freshLegacyPostgres } from "../../tools/postgres-site";
import { hostOf, runStepScript, sshTarget } from "../support/hosts";
import { exec } from "../../sandbox";
import { remoteCommand, renderCheckScript } from "../../lib/core/script";
import { runOverSsh, SshResult } from "../../tools/ssh";
import { MASTER, MASTER_CONFIG, psqlOn, STANDBY } from "../support/postgres-scenario";
import { treeDiff, treeSnapshot } from "../support/tree";

/*
 * The PostgreSQL steps' scripts run directly on the sandbox's legacy PostgreSQL site, as the Step
 * provider runs them (rendered, framed, over SSH, the password on stdin), without the engine:
 * each direction run twice is the same as once, and the inverses return the master's files byte
 * for byte. Lays out the PostgreSQL site.
 */

const PASSWORD = "SandboxReplicati0n";

describe("PostgreSQL steps on sandbox hosts", function () {
    this.timeout(600_000);
    let plan: Plan;
    let resolved: ResolvedPostgresHa;

    before(async function () {
        setQuiet(true);
        await freshLegacyPostgres();
        const inv = inventory();
        const host = (name: string) => ({ name, address: hostOf(inv, name).address, privateKey: "unused", hostKey: hostOf(inv, name).hostPublicKey });
        const r = resolved = resolvePostgresHa("postgres", {
            master: host(MASTER), standby: host(STANDBY), version: "15", dataDir: "/app/pgsql/data",
            vip: { address: inv.vip!.address, virtualRouterId: inv.vip!.virtualRouterId }, replication: { password: PASSWORD },
        });
        plan = planPostgresHa("postgres", r, PASSWORD);
    });

    async function run(stepId: string, direction: "forward" | "inverse"): Promise<string> {
        const s = plan.steps.find((x) => x.id === stepId)!;
        const res = await runStepScript(sshTarget(hostOf(inventory(), s.host)), {
            component: "postgres", step: s.id, direction, body: s.action[direction], stdin: `${PASSWORD}\n`, timeoutSeconds: 300,
        });
        assert.equal(res.code, 0, `${s.host} ${s.id} ${direction}: exit ${res.code}\n${res.stderr}\n${res.stdout}`);
        assert.ok(!res.stdout.includes(PASSWORD) && !res.stderr.includes(PASSWORD), "the password shows in the output");
        return res.stdout;
    }

    /** A pre-check as `npm run precheck` runs it: framed without lock or journal, no stdin. */
    async function precheck(stepId: string): Promise<SshResult> {
        const s = plan.steps.find((x) => x.id === stepId)!;
        assert.equal(s.kind, "check");
        return runOverSsh(sshTarget(hostOf(inventory(), s.host)), remoteCommand(renderCheckScript({ component: "postgres", step: s.id, body: s.action.forward })), { timeoutSeconds: 60, dialAttempts: 3, dialIntervalSeconds: 1 });
    }

    it("passes its read-only pre-checks on the legacy pair; the standby's names a data directory it would not build into, and they change nothing", async function () {
        const before = { master: await treeSnapshot(MASTER, MASTER_CONFIG), standby: await treeSnapshot(STANDBY, ["/app", "/var/lib/middleware"]) };
        for (const [step, role] of [[POSTGRES_STEPS.masterPrecheck, "master"], [POSTGRES_STEPS.standbyPrecheck, "standby"]] as const) {
            const res = await precheck(step);
            assert.equal(res.code, 0, `${role}: ${res.stderr}`);
            assert.match(res.stdout, new RegExp(`pre-check passed \\(${role}\\)`));
        }
        const hadApp = (await exec(STANDBY, "[ -d /app ]")).code === 0;
        await exec(STANDBY, "mkdir -p /app/pgsql/data && touch /app/pgsql/data/PG_VERSION");
        try {
            const res = await precheck(POSTGRES_STEPS.standbyPrecheck);
            assert.equal(res.code, 1);
            assert.match(res.stderr, /pre-check failed on this standby:\n {2}- \/app\/pgsql\/data is not empty on this host: the standby is built only into an empty data directory/);
        } finally {
            await exec(STANDBY, hadApp ? "rm -r /app/pgsql" : "rm -r /app");
        }
        assert.deepEqual(treeDiff(before.master, await treeSnapshot(MASTER, MASTER_CONFIG)), {}, "the master's files");
        assert.deepEqual(treeDiff(before.standby, await treeSnapshot(STANDBY, ["/app", "/var/lib/middleware"])), {}, "the standby's files");
    });

    it("runs each direction twice to the same end, and the inverses give the master's files back byte for byte", async function () {
        const before = await treeSnapshot(MASTER, MASTER_CONFIG);
        await run(POSTGRES_STEPS.masterReplication, "forward");
        const hba = await psqlOn(MASTER, "SELECT count(*) FROM pg_hba_file_rules WHERE user_name = '{replicator}'");
        await run(POSTGRES_STEPS.masterReplication, "forward");
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_hba_file_rules WHERE user_name = '{replicator}'"), hba, "the pg_hba.conf block is not repeated");
        assert.equal(hba, "4");

        await run(POSTGRES_STEPS.standbyBuild, "forward");
        assert.match(await run(POSTGRES_STEPS.standbyBuild, "forward"), /resuming: the standby runs/);
        assert.equal(await psqlOn(STANDBY, "SELECT status FROM pg_stat_wal_receiver"), "streaming");
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_replication_slots WHERE active"), "1");

        for (let i = 0; i < 2; i++) await run(POSTGRES_STEPS.standbyBuild, "inverse");
        for (let i = 0; i < 2; i++) await run(POSTGRES_STEPS.masterReplication, "inverse");
        assert.deepEqual(treeDiff(before, await treeSnapshot(MASTER, MASTER_CONFIG)), {}, "the master's files differ");
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'"), "0");
        assert.deepEqual(await treeSnapshot(STANDBY, ["/app/pgsql", "/etc/keepalived/keepalived.conf", "/var/lib/middleware/postgres"]).then((t) => Object.values(t.entries)), ["absent", "absent", "absent"]);
    });

    it("a wait for a standby that never streams fails naming what it waited for, with the end of the server's log and never the password", async function () {
        const log = resolved.logFile;
        await exec(MASTER, `echo 'a line of the log before the wait' >>${log} && echo 'a line holding ${PASSWORD}' >>${log}`);
        const res = await runStepScript(sshTarget(hostOf(inventory(), MASTER)), {
            component: "postgres", step: "await-streaming-check", direction: "forward",
            body: `${postgresPreamble(resolved)}\nmw_await_streaming 1 'this host to stream from 192.0.2.1' 192.0.2.1\n`, stdin: `${PASSWORD}\n`, timeoutSeconds: 60,
        });
        assert.equal(res.code, 1, `${res.stderr}\n${res.stdout}`);
        assert.match(res.stderr, /middleware: this host to stream from 192\.0\.2\.1: not within 1 s\nmiddleware: the end of \/var\/log\/postgresql\/postgresql\.log:\n(middleware: {3}.*\n)*middleware: {3}a line of the log before the wait\n/);
        assert.ok(!res.stdout.includes(PASSWORD) && !res.stderr.includes(PASSWORD), `the password shows in the output: ${res.stderr}`);
    });
});
