import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { setQuiet } from "../../sandbox";
import { redisBinDir } from "../../sandbox/sites/redis-versions";
import { REDIS_STEPS } from "../../lib/redis/plan";
import { patchRedisConfig } from "../../tools/redis-site";
import { journalMark, journalSince } from "../support/journal";
import { redisDbsize, redisInfo, vipHolders } from "../support/redis";
import { COMPONENT, HOSTS, MANAGED_REDIS, MASTER, onHost, RedisScenario, sleep, SLAVE, story } from "../support/redis-scenario";

/*
 * A version change of a migrated pair through the real engine: `pulumi up` with another
 * `version` replaces only the install steps, slave first, and the master restarts with the VIP
 * and the writes on the slave meanwhile; setting the version back goes the same way. The two
 * versions are real builds of Redis 6.2.7 and 6.2.11 (same RDB format, so both directions keep
 * the data); a downgrade from 7.0 to 6.2 cannot read the data and is refused before anything
 * changes.
 */

const s = new RedisScenario();
const OLD = "6.2.7";
const NEW = "6.2.11";
const DEBIAN = "7.0.15";

/** The install source of a version the sandbox offers. */
function source(version: string): { redisServer: string; redisCli: string } {
    const bin = redisBinDir(version);
    return { redisServer: `${bin}/redis-server`, redisCli: `${bin}/redis-cli` };
}

/** Polls which hosts hold the VIP until stopped; returns the sequence of distinct holder sets. */
function watchVip(vip: string): { stop: () => Promise<string[]> } {
    const seen: string[] = [];
    let running = true;
    const loop = (async () => {
        while (running) {
            const now = (await vipHolders(HOSTS, vip)).join("+") || "none";
            if (seen[seen.length - 1] !== now) seen.push(now);
            await sleep(50);
        }
    })();
    return { stop: async () => { running = false; await loop; return seen; } };
}

/** Asserts both hosts run `version`, h1 the master with the VIP, h2 its replica in sync, and only `version` installed. */
async function assertPairOn(version: string, what: string): Promise<void> {
    for (const h of HOSTS) {
        const info = await redisInfo(h, s.password, "server");
        assert.equal(info.redis_version, version, `${what}: ${h} runs ${version}`);
        assert.ok(info.executable.startsWith(`${MANAGED_REDIS}/`), `${what}: ${h} runs the managed install (${info.executable})`);
        assert.equal((await onHost(h, `ls ${MANAGED_REDIS}/versions`)).trim(), version, `${what}: ${h}: only ${version} is installed`);
    }
    assert.equal((await redisInfo(MASTER, s.password, "replication")).role, "master", `${what}: ${MASTER} is the master`);
    const replica = await redisInfo(SLAVE, s.password, "replication");
    assert.equal(replica.role, "slave", `${what}: ${SLAVE} is the replica`);
    assert.equal(replica.master_host, s.inv.hosts[0].address, `${what}: ${SLAVE} replicates from ${MASTER}`);
    assert.equal(replica.master_link_status, "up", `${what}: the replication link is up`);
    assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER], `${what}: the VIP is on ${MASTER}`);
}

/** One version change with a writer through the VIP, and what it must look like. */
async function changeVersion(to: string, label: string): Promise<void> {
    await patchRedisConfig(s.stack!, { version: to, source: source(to) });
    const preview = await s.stack!.preview();
    assert.deepEqual(
        Object.keys(preview.changeSummary).filter((k) => k !== "same").sort(),
        ["replace"],
        `${label}: the preview replaces steps and changes nothing else: ${JSON.stringify(preview.changeSummary)}`,
    );
    assert.equal(preview.changeSummary.replace, 2, `${label}: the two install steps are replaced`);
    const keysBefore = await redisDbsize(MASTER, s.password);
    const since = await journalMark(HOSTS);
    const vip = watchVip(s.vip);
    let holders: string[] = [];
    const run = await s.withWriter(label, async () => {
        try {
            const { result, error } = await s.timed(`up (${label})`, () => s.stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(result!.summary.resourceChanges, { replace: 2, same: 12 });
        } finally {
            holders = await vip.stop();
        }
    });
    // A handover can show both hosts holding the VIP for less than one 50 ms poll: the slave takes
    // it on the master's priority-0 advert while the master's keepalived is still removing it.
    const overlaps = holders.filter((h) => h.includes("+")).length;
    s.note(`${label}: VIP holders in turn: ${holders.join(" -> ")}${overlaps ? ` (both hosts at ${overlaps} handover poll(s))` : ""}`);
    assert.equal(run.lost, 0, `${label}: acknowledged writes lost`);
    assert.ok(run.report.downtimeMs <= 2000, `${label}: writer downtime ${Math.round(run.report.downtimeMs)} ms`);
    assert.deepEqual(holders.filter((h) => h !== "none" && !h.includes("+")), [MASTER, SLAVE, MASTER], `${label}: the VIP moves to the slave while the master restarts, and back`);
    assert.ok(holders.every((h, i) => !h.includes("+") || (i > 0 && i < holders.length - 1)), `${label}: both hosts hold the VIP only in the middle of a handover`);
    assert.deepEqual(story(await journalSince(since, COMPONENT)), [
        `${SLAVE} ${REDIS_STEPS.slaveInstall} forward ok`,
        `${MASTER} ${REDIS_STEPS.masterInstall} forward ok`,
        `${MASTER} ${REDIS_STEPS.masterInstall} inverse ok`,
        `${SLAVE} ${REDIS_STEPS.slaveInstall} inverse ok`,
    ], `${label}: the new version runs on the slave, then on the master; then the old one is removed`);
    await assertPairOn(to, label);
    assert.ok((await redisDbsize(MASTER, s.password)) >= keysBefore + run.report.acknowledged, `${label}: the data set and every write are there`);
    assert.match(await s.stepStdout(REDIS_STEPS.masterInstall), /the slave serves behind the VIP[\s\S]*the VIP is back on the master/);
}

/**
 * A version change to NEW whose master restart fails (through a faulty `binary` of NEW with
 * `script` as its content): `up` fails naming master-install, whose inverse takes the master
 * back to OLD the same way, with a writer losing nothing; then OLD again aligns the slave.
 */
async function masterGoesBack(label: string, binary: "redis-server" | "redis-cli", script: string): Promise<void> {
    const dir = "/opt/middleware-redis-fault-injected/bin";
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/${binary}`, script, { mode: 0o755 });
    try {
        const faulty = { ...source(NEW), [binary === "redis-server" ? "redisServer" : "redisCli"]: `${dir}/${binary}` };
        await patchRedisConfig(s.stack!, { version: NEW, source: faulty });
        const since = await journalMark(HOSTS);
        const vip = watchVip(s.vip);
        let holders: string[] = [];
        const run = await s.withWriter(label, async () => {
            try {
                const { error } = await s.timed(`up (${OLD} -> ${NEW}, ${label})`, () => s.stack!.up());
                assert.ok(error, "the up must fail");
                assert.match(error.message, /redis\/master-install on h1: forward action failed[\s\S]*its inverse ran/);
            } finally {
                holders = await vip.stop();
            }
        });
        // A handover can show both hosts holding the VIP for less than one 50 ms poll: the slave takes
    // it on the master's priority-0 advert while the master's keepalived is still removing it.
    const overlaps = holders.filter((h) => h.includes("+")).length;
    s.note(`${label}: VIP holders in turn: ${holders.join(" -> ")}${overlaps ? ` (both hosts at ${overlaps} handover poll(s))` : ""}`);
        assert.equal(run.lost, 0, `${label}: acknowledged writes lost`);
        assert.equal(holders[holders.length - 1], MASTER, `${label}: the VIP ends on the master`);
        assert.ok(holders.includes(SLAVE), `${label}: the VIP was on the slave while the master restarted`);
        assert.deepEqual(story(await journalSince(since, COMPONENT)), [
            `${SLAVE} ${REDIS_STEPS.slaveInstall} forward ok`,
            `${MASTER} ${REDIS_STEPS.masterInstall} forward failed(1)`,
            `${MASTER} ${REDIS_STEPS.masterInstall} inverse ok`,
        ]);
        assert.equal((await redisInfo(MASTER, s.password, "server")).redis_version, OLD, `${label}: the master is back on the old version`);
        assert.equal((await redisInfo(MASTER, s.password, "replication")).role, "master");
        assert.equal((await redisInfo(SLAVE, s.password, "server")).redis_version, NEW, `${label}: the slave kept the new version`);
        assert.equal((await redisInfo(SLAVE, s.password, "replication")).master_link_status, "up");
        assert.deepEqual(await vipHolders(HOSTS, s.vip), [MASTER]);
    } finally {
        fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
    await patchRedisConfig(s.stack!, { version: OLD, source: source(OLD) });
    const { error } = await s.timed(`up (${OLD} again)`, () => s.stack!.up());
    assert.ifError(error);
    await assertPairOn(OLD, `${label}: after setting the old version again`);
}

describe("Redis version change through the engine (real pulumi up on a migrated sandbox pair)", function () {
    before(async function () {
        this.timeout(300_000);
        setQuiet(true);
        await s.freshScenario(`legacy pair on Redis ${OLD}`, { redisVersion: OLD });
        await patchRedisConfig(s.stack!, { version: OLD, source: source(OLD) });
        const { error } = await s.timed(`up (migration to managed ${OLD})`, () => s.stack!.up());
        assert.ifError(error);
        await assertPairOn(OLD, "after the migration");
    });

    after(async function () {
        this.timeout(300_000);
        await s.endFile();
    });

    it(`upgrades ${OLD} -> ${NEW}: only the install steps are replaced, slave first, the VIP on the slave while the master restarts, no acknowledged write lost`, async function () {
        this.timeout(600_000);
        await changeVersion(NEW, `upgrade ${OLD} -> ${NEW}`);
    });

    it(`setting the version back (${NEW} -> ${OLD}) rolls back the same way`, async function () {
        this.timeout(600_000);
        await changeVersion(OLD, `downgrade ${NEW} -> ${OLD}`);
    });

    it(`a master that does not start on ${NEW} goes back to ${OLD} the same way: up fails naming master-install, no acknowledged write lost; setting ${OLD} again aligns the slave`, async function () {
        this.timeout(600_000);
        // A build of NEW that answers --version and runs private instances, but refuses to start
        // with the site's redis.conf on the master host.
        await masterGoesBack("the master does not start", "redis-server", `#!/bin/sh
case "$*" in */conf/redis.conf*) if [ "$(hostname)" = ${MASTER} ]; then echo 'fault injected: refusing to start' >&2; exit 1; fi;; esac
exec ${source(NEW).redisServer} "$@"
`);
    });

    it("a take-back that stops halfway (both masters, the VIP and new writes on the master) goes back without losing those writes", async function () {
        this.timeout(600_000);
        // A redis-cli of NEW that fails, once, the slave's REPLICAOF of the master: the master is
        // promoted and takes writes while the slave is a master too.
        const master = s.inv.hosts[0].address;
        const slave = s.inv.hosts[1].address;
        await masterGoesBack("the take-back stops halfway", "redis-cli", `#!/bin/sh
case "$*" in *"-h ${slave} "*) ;; *) exec ${source(NEW).redisCli} "$@";; esac
in=$(cat)
case "$in" in *"REPLICAOF ${master} "*)
    if [ ! -e /tmp/mw-fault-injected ]; then : >/tmp/mw-fault-injected; printf 'OK\\nERR fault injected\\n'; exit 0; fi;;
esac
printf '%s\\n' "$in" | exec ${source(NEW).redisCli} "$@"
`);
        await onHost(MASTER, "rm -f /tmp/mw-fault-injected");
    });

    it("destroy after the upgrade and the way back restores the legacy pair", async function () {
        this.timeout(600_000);
        const { error } = await s.timed("destroy (rollback to legacy)", () => s.stack!.destroy());
        assert.ifError(error);
        await s.assertLegacyPair("after the rollback");
        assert.equal((await redisInfo(MASTER, s.password, "server")).redis_version, OLD);
    });

    it(`upgrades to ${DEBIAN}; from there a downgrade to ${NEW} and a rollback to the legacy ${OLD} cannot read the data: both are refused before anything changes`, async function () {
        this.timeout(600_000);
        const again = await s.timed(`up (migration to managed ${OLD} again)`, () => s.stack!.up());
        assert.ifError(again.error);
        await patchRedisConfig(s.stack!, { version: DEBIAN, source: source(DEBIAN) });
        const up = await s.timed(`up (upgrade ${OLD} -> ${DEBIAN})`, () => s.stack!.up());
        assert.ifError(up.error);
        await assertPairOn(DEBIAN, `upgrade to ${DEBIAN}`);

        const pids = async () => Promise.all(HOSTS.map((h) => redisInfo(h, s.password, "server").then((i) => i.process_id)));
        const before = await pids();
        await patchRedisConfig(s.stack!, { version: NEW, source: source(NEW) });
        let since = await journalMark(HOSTS);
        const down = await s.timed(`up (downgrade ${DEBIAN} -> ${NEW}, refused)`, () => s.stack!.up());
        assert.ok(down.error, "the downgrade must fail");
        assert.match(down.error.message, new RegExp(`Redis ${NEW.replace(/\./g, "\\.")} cannot read the data this pair holds`));
        assert.deepEqual(story(await journalSince(since, COMPONENT)), [
            `${SLAVE} ${REDIS_STEPS.slaveInstall} forward failed(1)`,
            `${SLAVE} ${REDIS_STEPS.slaveInstall} inverse ok`,
        ]);
        assert.deepEqual(await pids(), before, "no redis restarted");
        await assertPairOn(DEBIAN, "after the refused downgrade");

        since = await journalMark(HOSTS);
        const rollback = await s.timed(`destroy (rollback from ${DEBIAN} to the legacy ${OLD}, refused)`, () => s.stack!.destroy());
        assert.ok(rollback.error, "the rollback must fail");
        assert.match(rollback.error.message, /the legacy redis cannot read the data the managed Redis writes[^\n]*reads RDB format 9 at most; [^ ]+ writes format 10/);
        assert.deepEqual(story(await journalSince(since, COMPONENT)), [`${SLAVE} ${REDIS_STEPS.slaveIn} inverse failed(1)`]);
        assert.deepEqual(await pids(), before, "no redis restarted");
        await assertPairOn(DEBIAN, "after the refused rollback");
        await s.dropStack();
    });
});
