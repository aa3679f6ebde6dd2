import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { checkpointPath } from "../../tools/engine";
import { exec, setQuiet } from "../../sandbox";
import { verifyWrites, WriterReport } from "../../bench/writer";
import { REDIS_STEPS } from "../../lib/redis/plan";
import { READY_STEP } from "../../lib/core/materialize";
import { JournalLine, journalMark, journalSince } from "../support/journal";
import { redisDbsize, redisDigest, redisInfo, vipHolders } from "../support/redis";
import {
    assertLegacyTreesBack, backupsLeft, COMPONENT, HOSTS, PROJECT, legacyTrees, MANAGED_REDIS, MASTER, onHost, PORT, RedisScenario, REVERSIBLE,
    settleConcurrent, SLAVE, story,
} from "../support/redis-scenario";
import { eventually } from "../support/redis";

/** The sandbox's third host, outside the pair. */
const FOREIGN = "h3";

/*
 * The Redis migration through the real engine: the sandbox's legacy pair (master h1, slave h2,
 * keepalived VIP) migrated with `pulumi up` and rolled back with `pulumi destroy` through the
 * Automation API, with a client writing through the VIP; and the site's files, data and roles
 * compared before and after.
 *
 * Each scenario starts from a fresh legacy site (sandbox down + up) and its own stack.
 */

const s = new RedisScenario();

/** Asserts the journal lines since a mark are a complete migration, then exactly its inverses in reverse order. */
function assertInversesReverseForwards(lines: readonly JournalLine[], what: string): void {
    const changes = lines.filter((l) => l.step !== READY_STEP);
    assert.ok(changes.every((l) => l.outcome === "ok"), `${what}: every step ran ok:\n${story(lines).join("\n")}`);
    const forwards = changes.filter((l) => l.direction === "forward").map((l) => `${l.host} ${l.step}`);
    const inverses = changes.filter((l) => l.direction === "inverse").map((l) => `${l.host} ${l.step}`);
    const firstInverse = changes.findIndex((l) => l.direction === "inverse");
    assert.ok(changes.slice(firstInverse).every((l) => l.direction === "inverse"), `${what}: every inverse runs after every forward action:\n${story(lines).join("\n")}`);
    const plan = [`${MASTER} ${REDIS_STEPS.masterPrecheck}`, `${SLAVE} ${REDIS_STEPS.slavePrecheck}`, ...REVERSIBLE];
    assert.deepEqual(settleConcurrent(forwards), settleConcurrent(plan), `${what}: the forward actions in plan order`);
    assert.deepEqual(settleConcurrent(inverses), settleConcurrent(forwards.filter((x) => REVERSIBLE.includes(x)).reverse()), `${what}: inverses in reverse order of the forwards`);
}

describe("Redis migration through the engine (real pulumi up / destroy on the sandbox's legacy site)", function () {
    before(function () {
        setQuiet(true);
    });

    after(async function () {
        this.timeout(300_000);
        await s.endFile();
    });

    describe("migration with a writer, a second up, rollback with a writer", function () {
        let first: { prefix: string; report: WriterReport };

        before(async function () {
            this.timeout(300_000);
            await s.freshScenario("migration with a writer");
        });

        after(async function () {
            this.timeout(60_000);
            await s.dropStack();
        });

        it("up migrates while a client writes through the VIP: no acknowledged write lost, data proven, h1 managed master, h2 managed replica, VIP on h1", async function () {
            this.timeout(600_000);
            const run = await s.withWriter("migration", async () => {
                const { result, error } = await s.timed("up (migration, with a writer)", () => s.stack!.up());
                assert.ifError(error);
                assert.equal(result!.summary.result, "succeeded");
                assert.equal(result!.summary.resourceChanges?.create, 14, JSON.stringify(result!.summary.resourceChanges));
            });
            first = run;
            assert.equal(run.lost, 0, "lost writes");
            assert.ok(run.report.acknowledged > 0);
            assert.ok(Number.isFinite(run.report.downtimeMs) && run.report.downtimeMs > 0);
            // The write pause lasts 60 s at most; a switch that forgot to unpause would show here.
            assert.ok(run.report.downtimeMs < 10_000, `downtime ${Math.round(run.report.downtimeMs)} ms`);

            const switchOut = await s.stepStdout(REDIS_STEPS.masterSwitch);
            assert.match(switchOut, /data proven equal/);
            console.log(`      the switch window on ${MASTER}:\n${switchOut.trim().split("\n").filter((l) => /ms:|proven/.test(l)).map((l) => `        | ${l}`).join("\n")}`);

            const mServer = await redisInfo(MASTER, s.password, "server");
            assert.ok(mServer.executable.startsWith(`${MANAGED_REDIS}/`), `${MASTER} runs ${mServer.executable}`);
            const mRepl = await redisInfo(MASTER, s.password, "replication");
            assert.equal(mRepl.role, "master");
            assert.equal(mRepl.connected_slaves, "1");
            assert.match(mRepl.slave0, new RegExp(`^ip=${s.inv.hosts[1].address.replace(/\./g, "\\.")},port=${PORT},state=online,`));
            const sServer = await redisInfo(SLAVE, s.password, "server");
            assert.ok(sServer.executable.startsWith(`${MANAGED_REDIS}/`), `${SLAVE} runs ${sServer.executable}`);
            const sRepl = await redisInfo(SLAVE, s.password, "replication");
            assert.equal(sRepl.role, "slave");
            assert.equal(sRepl.master_host, s.inv.hosts[0].address);
            assert.equal(sRepl.master_link_status, "up");
            assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER], `the VIP is on ${MASTER} only`);

            const written = await s.accountForWrites("migration", run.prefix, run.report);
            const expected = s.inv.redis!.datasetKeys + written;
            assert.equal(await redisDbsize(MASTER, s.password), expected, "keys = data set + the writer's keys");
            assert.deepEqual(await s.replicaCaughtUp(), { master: expected, slave: expected });

            for (const h of HOSTS) {
                for (const service of ["redis", "keepalived"]) {
                    assert.equal((await onHost(h, `readlink /etc/init.d/${service}`)).trim(), `${MANAGED_REDIS}/init.d/${service}`, `${h}: /etc/init.d/${service}`);
                    const r = await exec(h, `service ${service} status`);
                    assert.equal(r.code, 0, `${h}: service ${service} status: ${r.stdout}${r.stderr}`);
                    assert.match(r.stdout, /is running/);
                }
            }
        });

        it("a second up changes nothing and runs nothing on the hosts", async function () {
            this.timeout(300_000);
            const before = await journalMark(HOSTS);
            const { result, error } = await s.timed("second up (nothing to do)", () => s.stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(Object.keys(result!.summary.resourceChanges ?? {}), ["same"], JSON.stringify(result!.summary.resourceChanges));
            assert.deepEqual(await journalMark(HOSTS), before, "no journal line on any host");
        });

        it("a foreign keepalived with the VIP's router id and a winning priority does not make the managed master step down or drop the VIP", async function () {
            this.timeout(120_000);
            const conf = await onHost(MASTER, `cat ${MANAGED_REDIS}/conf/keepalived.conf`);
            assert.match(conf, /auth_type PASS/);
            assert.match(conf, new RegExp(`unicast_peer \\{\\s*${s.inv.hosts[1].address.replace(/\./g, "\\.")}\\s*\\}`));
            assert.match(conf, /vrrp_check_unicast_src/);
            assert.equal((await onHost(MASTER, `stat -c %a ${MANAGED_REDIS}/conf/keepalived.conf`)).trim(), "600");
            const routerId = /virtual_router_id (\d+)/.exec(conf)![1];
            // The generated VRRP password is nowhere but in that file: not in the state, the journals or a process list.
            const vrrpPassword = /auth_pass (\S+)/.exec(conf)![1];
            assert.match(vrrpPassword, /^[A-Za-z0-9]{8}$/);
            assert.ok(!fs.readFileSync(checkpointPath(PROJECT, s.stackName), "utf8").includes(vrrpPassword), "the VRRP password is in the state in clear");
            for (const h of HOSTS) {
                const found = await exec(h, "grep -rlF -f /dev/stdin /var/lib/middleware /run /tmp /proc/[0-9]*/cmdline 2>/dev/null || :", { input: `${vrrpPassword}\n` });
                assert.deepEqual(found.stdout.split("\n").filter((l) => l), [], `${h}: the VRRP password is found outside keepalived.conf`);
            }
            const logLines = async (h: string) => Number((await onHost(h, `wc -l <${MANAGED_REDIS}/log/keepalived.log`)).trim());
            const marks = { [MASTER]: await logLines(MASTER), [SLAVE]: await logLines(SLAVE) };
            const stateChange = (l: string) => /Entering (BACKUP|MASTER|FAULT) STATE|removing (protocol )?VIPs/i.test(l);
            // A third host on the segment claims the VIP at priority 255 with a higher address than
            // the master (which wins a tie): first by multicast, then unicast straight to both hosts.
            const peers = s.inv.hosts.filter((h) => h.name !== FOREIGN).map((h) => h.address).join(" ");
            for (const [mode, unicast] of [["multicast", ""], ["unicast", `unicast_peer { ${peers} }`]] as const) {
                await onHost(FOREIGN, `cat >/tmp/foreign-keepalived.conf <<'EOF'
vrrp_instance FOREIGN {
    state MASTER
    interface eth0
    virtual_router_id ${routerId}
    priority 255
    advert_int 1
    ${unicast}
    virtual_ipaddress {
        ${s.vip}/24 dev eth0
    }
}
EOF
rm -f /tmp/foreign-keepalived*.pid
setsid /usr/sbin/keepalived --dont-fork --log-console -f /tmp/foreign-keepalived.conf -p /tmp/foreign-keepalived.pid -r /tmp/foreign-keepalived-vrrp.pid >/tmp/foreign-keepalived.log 2>&1 </dev/null &`);
                const seen = new Set<string>();
                try {
                    assert.ok(await eventually(async () => (await vipHolders([FOREIGN], s.vip)).length === 1, 10_000), `${mode}: the foreign keepalived took the VIP on its own host`);
                    const until = Date.now() + 6000;
                    while (Date.now() < until) {
                        seen.add((await vipHolders(HOSTS, s.vip)).join("+"));
                        await new Promise((resolve) => setTimeout(resolve, 100));
                    }
                } finally {
                    await onHost(FOREIGN, "kill $(cat /tmp/foreign-keepalived.pid) 2>/dev/null; :");
                    await eventually(async () => (await vipHolders([FOREIGN], s.vip)).length === 0, 5000);
                }
                const master = (await onHost(MASTER, `tail -n +${marks[MASTER] + 1} ${MANAGED_REDIS}/log/keepalived.log`)).split("\n");
                const slave = (await onHost(SLAVE, `tail -n +${marks[SLAVE] + 1} ${MANAGED_REDIS}/log/keepalived.log`)).split("\n");
                const logs = `\n${MASTER}:\n${master.join("\n")}\n${SLAVE}:\n${slave.join("\n")}`;
                assert.deepEqual([...seen], [MASTER], `${mode}: the VIP stayed on ${MASTER} alone (polled every 100 ms)${logs}`);
                assert.deepEqual(master.filter(stateChange), [], `${MASTER} (${mode}): the managed master never stepped down${logs}`);
                assert.ok(master.some((l) => /received a 0 auth, expecting 1/.test(l)) || mode === "multicast", `${MASTER} (${mode}): the foreign adverts were refused for their authentication${logs}`);
                // The master keeps advertising on its own clock (lower_prio_no_advert), so the slave never misses it.
                assert.deepEqual(slave.filter(stateChange), [], `${SLAVE} (${mode}): the managed slave never claimed the VIP${logs}`);
                console.log(`      ${mode} foreign keepalived: VIP on ${MASTER} alone throughout, no state change on ${MASTER} or ${SLAVE}`);
                marks[MASTER] = await logLines(MASTER);
                marks[SLAVE] = await logLines(SLAVE);
            }
        });

        it("destroy with a writer carries every acknowledged write back to the legacy master (those before and during the rollback)", async function () {
            this.timeout(600_000);
            const run = await s.withWriter("rollback", async () => {
                const { result, error } = await s.timed("destroy (rollback, with a writer)", () => s.stack!.destroy());
                assert.ifError(error);
                assert.equal(result!.summary.result, "succeeded");
            });
            assert.equal(run.lost, 0, "writes acknowledged during the rollback that are lost");
            assert.ok(run.report.acknowledged > 0);
            assert.ok(Number.isFinite(run.report.downtimeMs) && run.report.downtimeMs > 0, "the rollback's downtime is reported");
            const before = await verifyWrites({ host: s.vip, port: PORT, password: s.password, keyPrefix: first.prefix, report: first.report });
            assert.equal(before.lostWrites, 0, "writes acknowledged during the migration that the rollback lost");
            assert.deepEqual(await s.stepsInState(), []);
            await s.assertLegacyPair("after the rollback");
            const expected = s.inv.redis!.datasetKeys + (await s.accountForWrites("migration (after the rollback)", first.prefix, first.report)) +
                (await s.accountForWrites("rollback", run.prefix, run.report));
            assert.equal(await redisDbsize(MASTER, s.password), expected, "keys = data set + the writers' keys");
            assert.deepEqual(await s.replicaCaughtUp(), { master: expected, slave: expected });
            assert.deepEqual(await backupsLeft(), []);
        });
    });

    describe("migration and rollback without writes", function () {
        before(async function () {
            this.timeout(300_000);
            await s.freshScenario("migration and rollback without writes");
        });

        after(async function () {
            this.timeout(60_000);
            await s.dropStack();
        });

        it("destroy restores the legacy site byte for byte (but the RDB's bytes), with the same data, roles and VIP; the journals show the inverses in reverse order", async function () {
            this.timeout(600_000);
            const trees = await legacyTrees();
            const digest = await redisDigest(MASTER, s.password);
            const mark = await journalMark(HOSTS);

            const up = await s.timed("up (migration)", () => s.stack!.up());
            assert.ifError(up.error);
            assert.equal(up.result!.summary.result, "succeeded");
            assert.equal(await redisDigest(MASTER, s.password), digest, "the managed master holds the same data");
            const down = await s.timed("destroy (rollback)", () => s.stack!.destroy());
            assert.ifError(down.error);
            assert.equal(down.result!.summary.result, "succeeded");
            assert.deepEqual(await s.stepsInState(), []);

            assertLegacyTreesBack(trees, await legacyTrees(), "after the rollback");
            assert.equal(await redisDigest(MASTER, s.password), digest, "DEBUG DIGEST of the legacy master as before the migration");
            await s.replicaCaughtUp();
            assert.equal(await redisDigest(SLAVE, s.password), digest, "the legacy slave holds the same data");
            assert.deepEqual(await backupsLeft(), [], "no _bak remains");
            await s.assertLegacyPair("after the rollback");
            const lines = await journalSince(mark, COMPONENT);
            console.log(`      journals, merged by time:\n${story(lines).map((l) => `        | ${l}`).join("\n")}`);
            assertInversesReverseForwards(lines, "migration then rollback");
        });
    });
});
