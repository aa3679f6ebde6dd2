import * as assert from "assert";
import { hostAddress, hostNames, settingsFromEnv, vipAddress } from "../../sandbox/config";
import { datasetStream, keyCommands, prng } from "../../sandbox/sites/redis-dataset";
import { knowsEnableDebugCommand, renderKeepalivedConf, renderRedisConf } from "../../sandbox/sites/redis-files";
import { redisBinDir, redisVersions, reportedRedisVersion, SANDBOX_REDIS_VERSIONS } from "../../sandbox/sites/redis-versions";

/* The sandbox's pure parts: settings, addresses, rendered configs, the data set. No hosts. */

async function collect(keys: number, seed: number): Promise<string> {
    let all = "";
    for await (const chunk of datasetStream(keys, seed)) all += chunk;
    return all;
}

describe("sandbox plan (pure)", () => {
    it("derives addresses from SANDBOX_SUBNET and rejects what is not a /24", () => {
        const s = settingsFromEnv({ SANDBOX_SUBNET: "10.9.8.0/24", SANDBOX_DIR: "/tmp/sbx" });
        assert.deepStrictEqual([hostAddress(s, "h1"), hostAddress(s, "h3"), vipAddress(s)], ["10.9.8.11", "10.9.8.13", "10.9.8.100"]);
        assert.throws(() => settingsFromEnv({ SANDBOX_SUBNET: "10.9.8.0/16" }), /SANDBOX_SUBNET="10.9.8.0\/16": expected an IPv4 \/24/);
        assert.throws(() => settingsFromEnv({ SANDBOX_DIR: "/tmp/a b" }), /SANDBOX_DIR/);
        assert.throws(() => hostNames(0), /hosts=0/);
        assert.deepStrictEqual(hostNames(3), ["h1", "h2", "h3"]);
    });

    it("makes the same data set for the same size and seed, and another for another seed", async () => {
        const a = await collect(2000, 7);
        assert.strictEqual(a, await collect(2000, 7));
        assert.notStrictEqual(a, await collect(2000, 8));
        const creates = a.match(/\r\n(SET|HSET|RPUSH|SADD|ZADD)\r\n/g)!;
        assert.strictEqual(creates.length, 2000, "one creating command per key");
        for (const t of ["SET", "HSET", "RPUSH", "SADD", "ZADD", "EXPIRE"]) assert.match(a, new RegExp(`\\r\\n${t}\\r\\n`));
    });

    it("gives every key a distinct name and only far-future TTLs", () => {
        const rand = prng(1);
        const names = new Set<string>();
        for (let i = 0; i < 5000; i++) {
            for (const c of keyCommands(i, rand)) {
                if (c[0] === "EXPIRE") assert.ok(Number(c[2]) >= 5 * 365 * 24 * 3600);
                else names.add(c[1]);
            }
        }
        assert.strictEqual(names.size, 5000);
    });

    it("renders the slave's redis.conf with replicaof and both passwords, the master's without replicaof", () => {
        const base = { masterAddress: "10.0.0.11", password: "abc123", vip: "10.0.0.100", interface: "eth0", redisVersion: "7.0.15" };
        const slave = renderRedisConf({ ...base, host: "h2", role: "slave" });
        const master = renderRedisConf({ ...base, host: "h1", role: "master" });
        assert.match(slave, /^replicaof 10\.0\.0\.11 6379$/m);
        assert.doesNotMatch(master, /^replicaof/m);
        for (const conf of [master, slave]) {
            assert.match(conf, /^requirepass abc123$/m);
            assert.match(conf, /^masterauth abc123$/m);
            assert.match(conf, /^dir \/app\/redis_data$/m);
        }
        const kaMaster = renderKeepalivedConf({ ...base, host: "h1", role: "master" });
        const kaSlave = renderKeepalivedConf({ ...base, host: "h2", role: "slave" });
        assert.match(kaMaster, /state MASTER[\s\S]*virtual_router_id 51[\s\S]*priority 150[\s\S]*10\.0\.0\.100\/24 dev eth0/);
        assert.match(kaSlave, /state BACKUP[\s\S]*priority 100/);
        assert.doesNotMatch(kaMaster + kaSlave, /abc123/, "the Redis password stays out of keepalived.conf");
    });

    it("writes enable-debug-command only for Redis 7.0 and later, which know it (6.2 refuses to start on it)", () => {
        const base = { host: "h1", role: "master", masterAddress: "10.0.0.11", password: "abc123", vip: "10.0.0.100", interface: "eth0" } as const;
        assert.match(renderRedisConf({ ...base, redisVersion: "7.0.15" }), /^enable-debug-command local$/m);
        for (const v of ["6.2.7", "6.2.11"]) {
            const conf = renderRedisConf({ ...base, redisVersion: v });
            assert.doesNotMatch(conf, /enable-debug-command/);
            assert.match(conf, new RegExp(`^# \\(sandbox: the binaries are Redis ${v.replace(/\./g, "\\.")}\\)$`, "m"));
        }
        assert.deepStrictEqual(["6.2.14", "7.0.0", "7.2.4", "10.0.1"].map(knowsEnableDebugCommand), [false, true, true, true]);
        assert.throws(() => knowsEnableDebugCommand("7.0"), /Redis version "7.0": expected x.y.z/);
    });

    it("offers Debian's Redis at /usr/bin and the 6.2 builds under /opt/middleware-redis, nothing else", () => {
        assert.deepStrictEqual(redisVersions(), ["7.0.15", "6.2.7", "6.2.11"]);
        assert.strictEqual(redisBinDir("7.0.15"), "/usr/bin");
        assert.strictEqual(redisBinDir("6.2.7"), "/opt/middleware-redis/6.2.7/bin");
        assert.strictEqual(redisBinDir("6.2.11", "/x"), "/x/6.2.11/bin");
        assert.throws(() => redisBinDir("6.2.6"), /Redis "6.2.6" is not in the sandbox; it offers 7.0.15 \(Debian's\) and 6.2.7, 6.2.11/);
        assert.throws(() => redisBinDir("__proto__"), /not in the sandbox/);
        for (const b of Object.values(SANDBOX_REDIS_VERSIONS)) assert.match(b.sha256, /^[0-9a-f]{64}$/);
        assert.strictEqual(reportedRedisVersion("Redis server v=6.2.11 sha=00000000:0 malloc=jemalloc-5.1.0 bits=64 build=f5b1f28871c566b4"), "6.2.11");
        assert.strictEqual(reportedRedisVersion("redis-cli 7.0.15"), undefined);
    });
});
