import * as assert from "assert";
import * as fs from "fs";
import { down, exec, Inventory, InventoryHost, inventory, setQuiet, up } from "../../sandbox";
import { LEGACY_REDIS } from "../../sandbox/sites/redis-files";
import { redisBinDir, SANDBOX_REDIS_VERSIONS, SandboxRedisVersion } from "../../sandbox/sites/redis-versions";
import { sh } from "../../lib/core/shell";
import { sandboxUp } from "../support/hosts";
import { eventually, redisDbsize, redisDigest, redisInfo, redisOnHost, vipHolders } from "../support/redis";

/*
 * The Redis servers the sandbox adds to Debian's 7.0.15, for real on its hosts: 6.2.7 and
 * 6.2.11 as `up` publishes them under /opt/middleware-redis, each reading the RDB file the
 * other wrote (format 9, both directions, as a rolling patch upgrade and its rollback need);
 * then the legacy-redis site laid out on 6.2.11.
 *
 * The first part coexists with the suite's other tests on whatever site the sandbox carries:
 * private instances on h1 under DIR, on port PORT, stopped by pid. The second part takes the
 * sandbox down and lays out its own site, as sandbox.test.ts does, and takes it down at the end.
 */

const VERSIONS = Object.keys(SANDBOX_REDIS_VERSIONS) as SandboxRedisVersion[];
const DIR = "/app/redis-versions-test";
const PORT = 16379;
/** requirepass of the private instances, so that test/support/redis.ts can talk to them. */
const TEST_PASSWORD = "redis-versions-test";

async function onHost(host: string, cmd: string, input?: string): Promise<string> {
    const r = await exec(host, cmd, { input, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

/** Starts `version` on `host` on the data in DIR/data; resolves once it answers PING. */
async function startPrivate(host: string, version: SandboxRedisVersion): Promise<void> {
    const server = `${redisBinDir(version)}/redis-server`;
    await onHost(host, sh`${server} --port ${String(PORT)} --bind 127.0.0.1 --dir ${DIR}/data --dbfilename dump.rdb --save ${""} ` +
        sh`--appendonly no --daemonize yes --pidfile ${DIR}/redis.pid --logfile ${DIR}/redis.log --requirepass ${TEST_PASSWORD}`);
    const up = await eventually(async () => (await redisOnHost(host, TEST_PASSWORD, ["PING"], PORT)) === "PONG", 10_000);
    assert.ok(up, `${version} did not answer on ${host}:${PORT}:\n${await onHost(host, `tail -n 20 ${DIR}/redis.log`)}`);
}

/**
 * Stops the private instance if it runs and is ours (its executable is one of the published
 * servers): SHUTDOWN NOSAVE, then KILL after 10 s. Quiet when there is nothing to stop.
 */
async function stopPrivate(host: string): Promise<void> {
    await onHost(host, `
        f=${DIR}/redis.pid
        [ -f "$f" ] || exit 0
        pid=$(cat "$f")
        case "$(readlink /proc/$pid/exe 2>/dev/null)" in /opt/middleware-redis/*) ;; *) rm -f "$f"; exit 0 ;; esac
        read -r REDISCLI_AUTH; export REDISCLI_AUTH
        /usr/bin/redis-cli -h 127.0.0.1 -p ${PORT} shutdown nosave >/dev/null 2>&1 || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
        if kill -0 "$pid" 2>/dev/null; then echo "redis (pid $pid) ignored SHUTDOWN: KILL" >&2; kill -KILL "$pid"; fi
        rm -f "$f"`, `${TEST_PASSWORD}\n`);
}

describe("Redis 6.2.7 and 6.2.11 on the sandbox hosts", function () {
    this.timeout(300_000);
    let hosts: readonly InventoryHost[];

    before(async () => {
        hosts = (await sandboxUp()).hosts;
        await stopPrivate("h1");
        await onHost("h1", `rm -rf ${DIR} && mkdir -p ${DIR}/data`);
    });

    after(async () => {
        if (!hosts) return;
        await stopPrivate("h1");
        await onHost("h1", `rm -rf ${DIR}`);
    });

    it("publishes redis-server (pinned), redis-cli and redis-check-rdb of each version, the same on every host, for any user", async () => {
        const debianCli = await onHost("h1", "/usr/bin/redis-cli --version");
        for (const v of VERSIONS) {
            const bin = redisBinDir(v);
            assert.strictEqual(bin, `/opt/middleware-redis/${v}/bin`);
            for (const h of hosts) {
                assert.match(await onHost(h.name, `runuser -u nobody -- ${bin}/redis-server --version`), new RegExp(`^Redis server v=${v.replace(/\./g, "\\.")} `));
                assert.strictEqual((await onHost(h.name, `sha256sum ${bin}/redis-server`)).split(" ")[0], SANDBOX_REDIS_VERSIONS[v].sha256);
                assert.strictEqual(await onHost(h.name, `runuser -u nobody -- ${bin}/redis-cli --version`), debianCli);
                assert.strictEqual((await onHost(h.name, `readlink ${bin}/redis-check-rdb`)).trim(), "redis-server");
            }
        }
    });

    it("each version reads the RDB the other wrote (format 9): 6.2.7, then 6.2.11, then 6.2.7 again", async () => {
        const cli = (args: string[]) => redisOnHost("h1", TEST_PASSWORD, args, PORT);
        await startPrivate("h1", "6.2.7");
        assert.match(await cli(["INFO", "server"]), /^redis_version:6\.2\.7$/m);
        await cli(["SET", "s", "written by 6.2.7"]);
        await cli(["HSET", "h", "a", "1", "b", "2"]);
        await cli(["RPUSH", "l", "x", "y", "z"]);
        await cli(["SADD", "set", "m1", "m2"]);
        await cli(["ZADD", "z", "1", "one", "2", "two"]);
        await cli(["EXPIRE", "z", String(10 * 365 * 24 * 3600)]);
        const digest627 = await cli(["DEBUG", "DIGEST"]);
        assert.match(digest627, /^[0-9a-f]{40}$/, "6.2 allows DEBUG without enable-debug-command");
        assert.strictEqual(await cli(["SAVE"]), "OK");
        await stopPrivate("h1");
        assert.strictEqual(await onHost("h1", `head -c 9 ${DIR}/data/dump.rdb`), "REDIS0009");
        assert.match(await onHost("h1", `${redisBinDir("6.2.11")}/redis-check-rdb ${DIR}/data/dump.rdb`), /AUX FIELD redis-ver = '6\.2\.7'[\s\S]*RDB looks OK/);

        await startPrivate("h1", "6.2.11");
        assert.match(await cli(["INFO", "server"]), /^redis_version:6\.2\.11$/m);
        assert.strictEqual(await cli(["DEBUG", "DIGEST"]), digest627, "6.2.11 loaded what 6.2.7 saved");
        await cli(["SET", "s2", "written by 6.2.11"]);
        const digest6211 = await cli(["DEBUG", "DIGEST"]);
        assert.strictEqual(await cli(["SAVE"]), "OK");
        await stopPrivate("h1");
        assert.strictEqual(await onHost("h1", `head -c 9 ${DIR}/data/dump.rdb`), "REDIS0009");
        assert.match(await onHost("h1", `${redisBinDir("6.2.7")}/redis-check-rdb ${DIR}/data/dump.rdb`), /AUX FIELD redis-ver = '6\.2\.11'[\s\S]*RDB looks OK/);

        await startPrivate("h1", "6.2.7");
        assert.strictEqual(await cli(["DEBUG", "DIGEST"]), digest6211, "6.2.7 loaded what 6.2.11 saved");
        assert.strictEqual(await cli(["GET", "s2"]), "written by 6.2.11");
        assert.strictEqual(await cli(["DBSIZE"]), "6");
        await stopPrivate("h1");
    });
});

describe("the legacy-redis site on Redis 6.2.11", function () {
    this.timeout(300_000);
    const KEYS = 5000;
    let inv: Inventory;
    let password: string;

    before(async () => {
        setQuiet(true);
        await down();
        inv = await up({ hosts: 2, site: "legacy-redis", redisVersion: "6.2.11", dataset: { keys: KEYS } });
        password = fs.readFileSync(inv.redis!.passwordFile, "utf8").trim();
    });

    after(async () => {
        await down();
    });

    it("says in the inventory which Redis it runs and where the binaries came from", () => {
        for (const i of [inv, inventory()]) {
            assert.strictEqual(i.redis!.version, "6.2.11");
            assert.strictEqual(i.redis!.binariesFrom, "/opt/middleware-redis/6.2.11/bin");
            assert.strictEqual(i.redis!.installDir, "/app/soft/redis-5.0.5", "the runbook's paths stay");
        }
    });

    it("runs master and slave on 6.2.11 in sync, the VIP on the master, from the runbook's paths", async () => {
        const [master, slave] = [inv.redis!.master, inv.redis!.slave];
        for (const h of [master, slave]) {
            assert.match(await onHost(h, `${LEGACY_REDIS.serverBin} --version`), /^Redis server v=6\.2\.11 /);
            assert.strictEqual((await redisInfo(h, password, "server")).redis_version, "6.2.11");
            assert.doesNotMatch(await onHost(h, `cat ${LEGACY_REDIS.config}`), /enable-debug-command/, "6.2 refuses the directive");
        }
        const m = await redisInfo(master, password, "replication");
        assert.deepStrictEqual([m.role, m.connected_slaves], ["master", "1"]);
        const s = await redisInfo(slave, password, "replication");
        assert.deepStrictEqual([s.role, s.master_link_status, s.master_host], ["slave", "up", inv.hosts[0].address]);
        assert.deepStrictEqual([await redisDbsize(master, password), await redisDbsize(slave, password)], [KEYS, KEYS]);
        assert.strictEqual(await redisDigest(slave, password), await redisDigest(master, password), "the slave holds the master's data");
        assert.deepStrictEqual(await vipHolders(inv.hosts.map((h) => h.name), inv.vip!.address), [master]);
        // The master's full resync wrote an RDB of 6.2's format.
        assert.strictEqual(await onHost(master, `head -c 9 ${LEGACY_REDIS.dataDir}/dump.rdb`), "REDIS0009");
    });

    it("keeps 6.2.11 on a second up and refuses another version, naming both, without touching the pair", async () => {
        assert.strictEqual((await up({ redisVersion: "6.2.11" })).redis!.version, "6.2.11");
        assert.strictEqual((await up({})).redis!.version, "6.2.11");
        await assert.rejects(up({ redisVersion: "6.2.7" }), /the site runs Redis 6\.2\.11, not 6\.2\.7; to lay it out on Redis 6\.2\.7, run down first/);
        await assert.rejects(up({ redisVersion: "7.0.15" }), /the site runs Redis 6\.2\.11, not 7\.0\.15/);
        await assert.rejects(up({ redisVersion: "6.2.6" }), /Redis "6\.2\.6" is not in the sandbox; it offers 7\.0\.15 \(Debian's\) and 6\.2\.7, 6\.2\.11/);
        assert.strictEqual(inventory().redis!.version, "6.2.11");
        assert.strictEqual((await redisInfo(inv.redis!.master, password, "server")).redis_version, "6.2.11");
        assert.strictEqual(await redisDbsize(inv.redis!.master, password), KEYS);
    });
});
