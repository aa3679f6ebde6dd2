import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { describePlan, inOrder, Plan } from "../../../lib/core/plan";
import { renderScript } from "../../../lib/core/script";
import { ConfigError } from "../../../lib/core/validate";
import { PostgresHaArgs, resolvePostgresHa } from "../../../lib/postgres/args";
import { planPostgresHa, POSTGRES_STEPS as S } from "../../../lib/postgres/plan";
import { slotName } from "../../../lib/postgres/pg-sh";
import { hbaLines } from "../../../lib/postgres/replication";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const PASSWORD = "Rep1icati0nPasswordThatMustNotLeak";
const args = (over: Partial<PostgresHaArgs> = {}): PostgresHaArgs => ({
    master: { name: "h1", address: "10.0.0.11", privateKey: pulumi.secret("KEY"), hostKey },
    standby: { name: "h2", address: "10.0.0.12", privateKey: pulumi.secret("KEY"), hostKey },
    version: "15",
    dataDir: "/app/pgsql/data",
    vip: { address: "10.0.0.100" },
    replication: { password: PASSWORD },
    ...over,
});

/** Every script of the plan, framed as the Step runs it, parses with sh (dash); pre-checks have no inverse. */
function assertParses(plan: Plan): void {
    for (const s of plan.steps) {
        for (const direction of ["forward", "inverse"] as const) {
            if (s.action[direction] === "") continue;
            execFileSync("sh", ["-n"], { input: renderScript({ component: "postgres", step: s.id, direction, body: s.action[direction] }) });
        }
    }
}

function problems(a: PostgresHaArgs): string[] {
    try {
        resolvePostgresHa("postgres", a);
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^postgres: \d+ invalid argument\(s\):/);
        return e.problems.map((p) => `${p.path}: ${p.rule}`);
    }
    return [];
}

describe("PostgresHa arguments", function () {
    it("resolves Debian's paths, the master as primary and a generated password by default", function () {
        const r = resolvePostgresHa("postgres", args({ dataDir: undefined, replication: undefined }));
        assert.equal(r.binDir, "/usr/lib/postgresql/15/bin");
        assert.equal(r.dataDir, "/var/lib/postgresql/15/main");
        assert.equal(r.primary, "h1");
        assert.equal(r.port, 5432);
        assert.equal(r.replicationUser, "replicator");
        assert.equal(r.replicationPassword, undefined);
        assert.deepEqual(r.vip, { address: "10.0.0.100", prefix: 24, interface: "eth0", virtualRouterId: 52 });
    });

    it("gathers every problem into one error naming the property and the rule", function () {
        const found = problems(args({
            standby: { name: "h1", address: "10.0.0.11", privateKey: "K", hostKey },
            primary: "h3",
            version: "15.4",
            dataDir: "/data",
            logFile: "/data/log",
            port: 0,
            replication: { user: "Repl-User", password: "it's:secret" },
            vip: { address: "10.0.0.11", virtualRouterId: 0 },
            catchUpSeconds: 1,
        }));
        assert.deepEqual(found.sort(), [
            "catchUpSeconds: must be a whole number of seconds from 5 to 86400",
            "dataDir: must be at least two levels deep (the standby's is deleted on destroy)",
            "logFile: must lie outside dataDir (pg_rewind and base backups copy the data directory)",
            "port: must be an integer from 1 to 65535",
            "primary: must name one of the pair's hosts (h1, h1)",
            "replication.password: must not contain quotes ('), backslashes, colons or line breaks",
            "replication.user: must be a lowercase SQL name (a-z, 0-9, _; at most 63)",
            "standby.address: must differ from master.address",
            "standby.name: must differ from master.name: the pair needs two hosts",
            "version: must be a PostgreSQL major version from 10 on, such as 15",
            "vip.address: must differ from the hosts' addresses",
            "vip.virtualRouterId: must be an integer from 1 to 255",
        ]);
    });

    it("never shows a given password in its messages", function () {
        try {
            resolvePostgresHa("postgres", args({ replication: { password: "bad'pass" } }));
            assert.fail("expected a ConfigError");
        } catch (e) {
            assert.ok(!(e as Error).message.includes("bad'pass"));
            assert.match((e as Error).message, /replication\.password: .* \(got "\(secret, not shown\)"\)/);
        }
    });
});

describe("PostgresHa plan", function () {
    it("builds the standby after the master's side, with no switch while the master is primary", function () {
        const plan = planPostgresHa("postgres", resolvePostgresHa("postgres", args()), PASSWORD);
        assert.deepEqual(inOrder(plan).map((s) => `${s.host} ${s.id}`), [`h1 ${S.masterPrecheck}`, `h2 ${S.standbyPrecheck}`, `h1 ${S.masterReplication}`, `h2 ${S.standbyBuild}`]);
        assert.deepEqual(plan.steps.find((s) => s.id === S.standbyBuild)!.after, [S.masterReplication]);
    });

    it("switches over with two steps that undo as the switch back, in that order", function () {
        const plan = planPostgresHa("postgres", resolvePostgresHa("postgres", args({ primary: "h2" })), PASSWORD);
        assert.deepEqual(inOrder(plan).map((s) => `${s.host} ${s.id}`), [
            `h1 ${S.masterPrecheck}`,
            `h2 ${S.standbyPrecheck}`,
            `h1 ${S.masterReplication}`,
            `h2 ${S.standbyBuild}`,
            `h2 ${S.standbySwitchBack}`,
            `h1 ${S.masterSwitchover}`,
        ]);
        const back = plan.steps.find((s) => s.id === S.standbySwitchBack)!;
        const over = plan.steps.find((s) => s.id === S.masterSwitchover)!;
        // Deletion runs in reverse: the switchover's (empty) inverse, then the switch back on h2.
        assert.deepEqual(over.after, [S.standbySwitchBack]);
        assert.match(back.action.inverse, /pg_promote\(true, 60\)/);
        assert.match(over.action.forward, /pg_promote\(true, 60\)/);
        assert.match(over.action.inverse, /nothing to undo here/);
        const report = describePlan(plan);
        assert.match(report, /postgres: 6 steps/);
        assert.match(report, /\[h1\] switchover to h2: checkpoint, clean stop, h2 replays the shutdown checkpoint, promote/);
    });

    it("keeps the replication password off every script, on stdin as a secret", async function () {
        const plan = planPostgresHa("postgres", resolvePostgresHa("postgres", args({ primary: "h2" })), PASSWORD);
        for (const s of plan.steps) {
            assert.ok(!s.action.forward.includes(PASSWORD) && !s.action.inverse.includes(PASSWORD), `${s.id}: password in a script`);
            if (s.kind === "check") {
                assert.equal(s.stdin, undefined, `${s.id}: a pre-check reads no secret`);
                assert.doesNotMatch(s.action.forward, /MW_PASSWORD|pgpass/, `${s.id}: a pre-check reads no secret and writes no passfile`);
                continue;
            }
            const stdin = s.stdin as pulumi.Output<string>;
            assert.ok(await (stdin as unknown as { isSecret: Promise<boolean> }).isSecret, `${s.id}: stdin is not secret`);
        }
    });

    it("renders scripts that dash parses, forward and inverse", function () {
        assertParses(planPostgresHa("postgres", resolvePostgresHa("postgres", args({ primary: "h2" })), PASSWORD));
    });

    it("names slots and pg_hba.conf entries for both hosts", function () {
        assert.equal(slotName("h2"), "mw_h2");
        assert.equal(slotName("PG-Standby.1"), "mw_pg_standby_1");
        assert.deepEqual(hbaLines(resolvePostgresHa("postgres", args())).map((l) => l.split(/\s+/).join(" ")), [
            "host replication replicator 10.0.0.11/32 scram-sha-256",
            "host postgres replicator 10.0.0.11/32 scram-sha-256",
            "host replication replicator 10.0.0.12/32 scram-sha-256",
            "host postgres replicator 10.0.0.12/32 scram-sha-256",
        ]);
    });

    it("tells the approver what clients notice of every step that stops or moves the primary, and of none else", function () {
        const spare = { name: "h3", address: "10.0.0.13", privateKey: pulumi.secret("KEY"), hostKey };
        const plans = [
            args({ primary: "h2" }),
            args({ spare, upgrade: { version: "16", binDir: "/opt/pg16/bin" } }),
            args({ upgrade: { version: "16", binDir: "/opt/pg16/bin" } }),
            args({ binDir: "/opt/pg15.17/bin", upgrade: { version: "15", binDir: "/usr/lib/postgresql/15/bin" } }),
        ].map((a) => planPostgresHa("postgres", resolvePostgresHa("postgres", a), PASSWORD));
        const noticed = new Map(plans.flatMap((p) => p.steps).map((s) => [s.id, s.notice ?? ""]));
        const quiet = [S.masterPrecheck, S.standbyPrecheck, S.sparePrecheck, S.masterReplication, S.standbyBuild, S.spareBuild, S.standbyFollowsMaster, S.standbyNewVersion];
        assert.deepEqual(quiet.filter((id) => noticed.get(id) !== ""), [], "builds and checks move nothing clients see");
        for (const id of Object.values(S).filter((id) => !(quiet as string[]).includes(id))) {
            assert.match(noticed.get(id) ?? "", /writes refused about \d|writes refused while .*about \d/, `${id}: says how long writes are refused`);
            assert.match(noticed.get(id)!, /bench: .*\d+-\d+ ms/, `${id}: quotes the measured range`);
        }
        assert.match(noticed.get(S.standbySwitchBack)!, /^on undo only/, "its forward is a check");
    });

    it("upgrades the master after the standby's check, both undone as the way back then the switch back", function () {
        const r = resolvePostgresHa("postgres", args({ upgrade: { version: "16", binDir: "/opt/pg16/bin" } }));
        assert.deepEqual(r.upgrade, { version: "16", binDir: "/opt/pg16/bin" });
        const plan = planPostgresHa("postgres", r, PASSWORD);
        assert.deepEqual(inOrder(plan).map((s) => `${s.host} ${s.id}`), [
            `h1 ${S.masterPrecheck}`, `h2 ${S.standbyPrecheck}`, `h1 ${S.masterReplication}`, `h2 ${S.standbyBuild}`, `h2 ${S.standbyOldVersion}`, `h1 ${S.masterUpgrade}`,
        ]);
        const upgrade = plan.steps.find((s) => s.id === S.masterUpgrade)!;
        assert.match(upgrade.action.forward, /pg_upgrade" --link/);
        assert.match(upgrade.action.inverse, /refusing the way back to PostgreSQL \$mw_old_major/);
        assert.match(upgrade.action.inverse, /pg_promote/);
        assert.match(upgrade.action.inverse, /find "\$mw_data" -mindepth 1 -delete/, "the master is rebuilt from an empty data directory");
        assertParses(plan);
        assert.equal(resolvePostgresHa("postgres", args({ upgrade: { version: "16" } })).upgrade!.binDir, "/usr/lib/postgresql/16/bin");
    });

    it("rejects an upgrade that goes down, a minor roll onto the same binaries, or one while the standby is the primary", function () {
        assert.deepEqual(problems(args({ primary: "h2", upgrade: { version: "14", binDir: "bin" } })).sort(), [
            "primary: must be the master (h1) during an upgrade: the upgrade runs on the primary while the standby keeps the old version",
            "upgrade.binDir: must be an absolute path (start with /)",
            "upgrade.version: must be version (15, a minor roll) or a major version above it (pg_upgrade only goes up)",
        ]);
        assert.deepEqual(problems(args({ binDir: "/opt/pg/bin", upgrade: { version: "15", binDir: "/opt/pg/bin" } })), [
            "upgrade.binDir: must differ from binDir for a minor roll (the pair restarts on the build in upgrade.binDir)",
        ]);
    });

    it("rolls a minor version standby first, then the switchover, then the switch back, undone in reverse on the old build", function () {
        const r = resolvePostgresHa("postgres", args({ binDir: "/opt/pg15.17/bin", clientBinDir: "/usr/lib/postgresql/15/bin", upgrade: { version: "15", binDir: "/usr/lib/postgresql/15/bin" } }));
        const plan = planPostgresHa("postgres", r, PASSWORD);
        assert.deepEqual(inOrder(plan).map((s) => `${s.host} ${s.id}`), [
            `h1 ${S.masterPrecheck}`, `h2 ${S.standbyPrecheck}`, `h1 ${S.masterReplication}`, `h2 ${S.standbyBuild}`, `h2 ${S.standbyMinorRoll}`, `h1 ${S.masterMinorRoll}`, `h2 ${S.standbyMinorSwitchBack}`,
        ]);
        const step = (id: string) => plan.steps.find((s) => s.id === id)!.action;
        assert.match(step(S.standbyMinorRoll).forward, /^mw_bin='\/usr\/lib\/postgresql\/15\/bin'$/m);
        assert.match(step(S.standbyMinorRoll).inverse, /^mw_bin='\/opt\/pg15\.17\/bin'$/m);
        assert.match(step(S.masterMinorRoll).forward, /^mw_new='10\.0\.0\.12'$/m, "the master's step switches over to the standby");
        assert.match(step(S.standbyMinorSwitchBack).forward, /^mw_new='10\.0\.0\.11'$/m, "the last step switches back to the master");
        assert.match(step(S.masterReplication).forward, /^mw_cbin='\/usr\/lib\/postgresql\/15\/bin'$/m, "client tools apart from the server's");
        assertParses(plan);
    });

    it("builds a spare as a second standby, the way back of an upgrade while the standby is rebuilt on the new version", function () {
        const spare = { name: "h3", address: "10.0.0.13", privateKey: pulumi.secret("KEY"), hostKey };
        const r = resolvePostgresHa("postgres", args({ spare, upgrade: { version: "16", binDir: "/opt/pg16/bin" } }));
        const plan = planPostgresHa("postgres", r, PASSWORD);
        assert.deepEqual(inOrder(plan).map((s) => `${s.host} ${s.id}`), [
            `h1 ${S.masterPrecheck}`, `h2 ${S.standbyPrecheck}`, `h3 ${S.sparePrecheck}`, `h1 ${S.masterReplication}`, `h2 ${S.standbyBuild}`, `h3 ${S.spareBuild}`, `h2 ${S.standbyFollowsMaster}`,
            `h3 ${S.spareOldVersion}`, `h1 ${S.masterUpgrade}`, `h2 ${S.standbyNewVersion}`,
        ]);
        const step = (id: string) => plan.steps.find((s) => s.id === id)!.action;
        assert.match(step(S.masterReplication).forward, /mw_h3/, "the spare's slot on the master");
        assert.ok(hbaLines(r).some((l) => l.includes("10.0.0.13/32")), "the spare's pg_hba.conf entries");
        assert.match(step(S.masterUpgrade).forward, /^mw_old_host='10\.0\.0\.13'$/m, "the spare is the way back");
        assert.match(step(S.spareOldVersion).inverse, /^mw_new='10\.0\.0\.11'$/m, "the spare's undo switches back to the master");
        assert.match(step(S.standbyNewVersion).forward, /^mw_bin='\/opt\/pg16\/bin'$/m);
        assert.match(step(S.standbyNewVersion).inverse, /mw_rebuild_from "\$mw_spare" "\$mw_cbin"/, "back on 15 from a base backup of the spare");
        assertParses(plan);
        // Without an upgrade the spare is only built.
        const built = planPostgresHa("postgres", resolvePostgresHa("postgres", args({ spare })), PASSWORD);
        assert.deepEqual(built.steps.map((s) => s.id), [S.masterPrecheck, S.standbyPrecheck, S.sparePrecheck, S.masterReplication, S.standbyBuild, S.spareBuild]);
        // The pair without a spare keeps its triggers and master script.
        const plain = planPostgresHa("postgres", resolvePostgresHa("postgres", args()), PASSWORD);
        const masterSide = plain.steps.find((s) => s.id === S.masterReplication)!;
        assert.doesNotMatch(String(masterSide.triggers![0]), /spare/);
        assert.doesNotMatch(masterSide.action.forward, /spare/);
    });

    it("rejects a spare that is the master or the standby, with a switchover or a minor roll", function () {
        const h = (name: string, address: string) => ({ name, address, privateKey: pulumi.secret("KEY"), hostKey });
        assert.deepEqual(problems(args({ spare: h("h2", "10.0.0.11"), primary: "h2" })).sort(), [
            "primary: must be the master (h1) while a spare is configured: a switchover would leave the spare's slot behind on the old primary",
            "spare.address: must differ from master.address",
            "spare.name: must differ from standby.name: the spare is a third host",
        ]);
        assert.deepEqual(problems(args({ spare: h("h3", "10.0.0.100"), binDir: "/opt/a/bin", upgrade: { version: "15", binDir: "/opt/b/bin" } })).sort(), [
            "spare: is not used by a minor roll (upgrade.version 15 = version: its switchovers would leave the spare's slot behind); remove spare for the roll",
            "vip.address: must differ from the hosts' addresses",
        ]);
    });

    it("keeps the triggers of a pair whose client tools are its server's", function () {
        const plain = planPostgresHa("postgres", resolvePostgresHa("postgres", args()), PASSWORD);
        assert.doesNotMatch(String(plain.steps.find((s) => s.id === S.masterReplication)!.triggers![0]), /clientBinDir/);
    });
});
