import * as assert from "assert";
import { NAME_PREFIX, settingsFromEnv } from "../../sandbox/config";
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { Client } from "ssh2";
import { down, exec, fault, Inventory, InventoryHost, inventory, setQuiet, status, up } from "../../sandbox";
import { connect, Redis } from "../../bench/redis-client";

/*
 * The sandbox for real: namespaces, sshd, Redis and keepalived. Needs root and the prerequisites
 * (npm run prerequisites, before mocha; up fails at once naming it when they are missing). Brings up a small legacy-redis site once and tears it down at the end.
 */

const DATASET_KEYS = 20_000;

function sshRun(host: InventoryHost, pinnedKey: string, cmd: string): Promise<string> {
    const pinned = Buffer.from(pinnedKey.split(" ")[1], "base64");
    return new Promise((resolve, reject) => {
        const c = new Client();
        c.on("ready", () => {
            c.exec(cmd, (err, stream) => {
                if (err) return reject(err);
                let out = "";
                stream.on("data", (d: Buffer) => (out += d.toString()));
                stream.stderr.on("data", () => undefined);
                stream.on("close", () => {
                    c.end();
                    resolve(out);
                });
            });
        });
        c.on("error", reject);
        c.connect({
            host: host.address,
            port: host.port,
            username: host.user,
            privateKey: fs.readFileSync(host.privateKeyPath),
            hostVerifier: (key: Buffer) => key.equals(pinned),
            readyTimeout: 10_000,
        });
    });
}

/** A connection to Redis at `address`:6379 from the root namespace (ioredis, as bench/redis-client sets it up). */
function redisAt(address: string, password?: string): Promise<Redis> {
    return connect({ host: address, port: 6379, password, connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
}

/** Runs `use` on a new connection to Redis at `address` and closes it. */
async function withRedis<T>(address: string, password: string | undefined, use: (c: Redis) => Promise<T>): Promise<T> {
    const c = await redisAt(address, password);
    try {
        return await use(c);
    } finally {
        c.disconnect();
    }
}

function tcpReachable(address: string, port: number, timeoutMs = 1500): Promise<boolean> {
    return new Promise((resolve) => {
        const sock = net.connect({ host: address, port });
        sock.setTimeout(timeoutMs, () => (sock.destroy(), resolve(false)));
        sock.on("connect", () => (sock.end(), resolve(true)));
        sock.on("error", () => resolve(false));
    });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => execFile(file, args, (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout })));
}

async function vipHolder(): Promise<string[]> {
    return (await status())!.hosts.filter((h) => h.holdsVip).map((h) => h.name);
}

describe("sandbox (real namespaces, sshd, Redis, keepalived)", function () {
    this.timeout(300_000);
    let inv: Inventory;
    let password: string;

    before(async () => {
        setQuiet(true);
        await down();
        inv = await up({ hosts: 2, site: "legacy-redis", dataset: { keys: DATASET_KEYS } });
        password = fs.readFileSync(inv.redis!.passwordFile, "utf8").trim();
    });

    after(async () => {
        await down();
    });

    it("gives each host its own /app, hostname and processes", async () => {
        assert.strictEqual((await exec("h1", "rm -f /app/x && touch /app/x")).code, 0);
        assert.strictEqual((await exec("h1", "test -e /app/x")).code, 0);
        assert.strictEqual((await exec("h2", "test -e /app/x")).code, 1, "h2 must not see h1's /app/x");
        assert.strictEqual((await exec("h2", "hostname")).stdout.trim(), "h2");
        const ps = await exec("h1", "ps -e -o comm=");
        assert.match(ps.stdout, /redis-server/);
        assert.strictEqual(ps.stdout.match(/redis-server/g)!.length, 1, "h1 sees only its own redis");
    });

    it("lists every host with address, key path and host key in the inventory", () => {
        const again = inventory();
        const net24 = again.subnet.replace(/\.0\/24$/, "");
        assert.deepStrictEqual(again.hosts.map((h) => [h.name, h.address, h.port, h.user]), [
            ["h1", `${net24}.11`, 22, "root"],
            ["h2", `${net24}.12`, 22, "root"],
        ]);
        for (const h of again.hosts) {
            assert.match(h.hostPublicKey, /^ssh-ed25519 AAAA[0-9A-Za-z+/=]+$/);
            assert.ok(fs.existsSync(h.privateKeyPath));
        }
        assert.notStrictEqual(again.hosts[0].hostPublicKey, again.hosts[1].hostPublicKey);
    });

    it("accepts SSH with the pinned host key and lands in the host's own view", async () => {
        const [h1] = inv.hosts;
        const out = await sshRun(h1, h1.hostPublicKey, "hostname; test -e /app/x && echo own-app; service redis status");
        assert.match(out, /^h1\nown-app\nredis is running/);
    });

    it("refuses SSH when the pinned host key is another host's", async () => {
        const [h1, h2] = inv.hosts;
        await assert.rejects(sshRun(h1, h2.hostPublicKey, "true"), /verification failed/i);
    });

    it("works with the OpenSSH client and the inventory's known_hosts", async () => {
        const r = await run("ssh", [
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${inv.knownHostsPath}`,
            "-i", inv.hosts[1].privateKeyPath, `root@${inv.hosts[1].address}`, "hostname",
        ]);
        assert.deepStrictEqual(r, { code: 0, stdout: "h2\n" });
    });

    it("serves the legacy pair behind its VIP, with the password only", async () => {
        const vip = inv.vip!.address;
        await assert.rejects(withRedis(vip, undefined, (c) => c.dbsize()), /^ReplyError: NOAUTH/);
        await assert.rejects(redisAt(vip, "wrong-password"), /^ConnectError: connect to [\d.]+:6379: (WRONGPASS|ERR)/);
        const [size, info] = await withRedis(vip, password, (c) => Promise.all([c.dbsize(), c.info("replication")]));
        assert.strictEqual(size, DATASET_KEYS);
        assert.match(info, /role:master/);
    });

    it("has the slave replicating the whole data set", async () => {
        const [info, size] = await withRedis(inv.hosts[1].address, password, (c) => Promise.all([c.info("replication"), c.dbsize()]));
        assert.match(info, /role:slave/);
        assert.match(info, /master_link_status:up/);
        assert.strictEqual(size, DATASET_KEYS);
        const layout = await exec("h2", "ls /app/soft/redis-5.0.5/bin /app/soft/keepalived/sbin; grep -c '^requirepass\\|^masterauth' /etc/redis/redis.conf");
        assert.strictEqual(layout.stdout, "/app/soft/keepalived/sbin:\nkeepalived\n\n/app/soft/redis-5.0.5/bin:\nredis-cli\nredis-server\n2\n");
    });

    it("moves the VIP to the slave when the master's keepalived stops, and back when it starts", async () => {
        assert.deepStrictEqual(await vipHolder(), ["h1"]);
        assert.strictEqual((await exec("h1", "service keepalived stop")).code, 0);
        await eventually("VIP on h2", async () => (await vipHolder()).join() === "h2");
        await eventually("VIP answers as the slave", async () => (await withRedis(inv.vip!.address, password, (c) => c.info("replication"))).includes("role:slave"));
        assert.strictEqual((await exec("h1", "service keepalived start")).code, 0);
        await eventually("VIP back on h1", async () => (await vipHolder()).join() === "h1");
        await eventually("VIP answers as the master", async () => (await withRedis(inv.vip!.address, password, (c) => c.info("replication"))).includes("role:master"));
    });

    it("fills a host's /app to ENOSPC and frees it again", async () => {
        await fault("h2", "fill-disk");
        const full = await exec("h2", "dd if=/dev/zero of=/app/probe bs=4k count=1");
        assert.notStrictEqual(full.code, 0);
        assert.match(full.stderr, /No space left on device/);
        assert.strictEqual((await exec("h1", "echo data > /app/probe && rm /app/probe")).code, 0, "h1 is not affected");
        await fault("h2", "free-disk");
        assert.strictEqual((await exec("h2", "echo data > /app/probe && rm /app/probe")).code, 0);
    });

    it("cuts a host's link and heals it", async () => {
        await fault("h2", "cut");
        assert.strictEqual(await tcpReachable(inv.hosts[1].address, 22), false);
        await fault("h2", "heal");
        await eventually("h2 reachable again", () => tcpReachable(inv.hosts[1].address, 22));
    });

    it("crashes a host (all its processes by pid) and boots it with sshd and its services", async () => {
        await fault("h2", "down");
        assert.strictEqual(await tcpReachable(inv.hosts[1].address, 22, 500), false);
        assert.deepStrictEqual((await status())!.hosts[1].services, { redis: "stopped", keepalived: "stopped" });
        await fault("h2", "up");
        assert.deepStrictEqual((await status())!.hosts[1].services, { redis: "running", keepalived: "running" });
        await eventually("slave link up after reboot", async () => (await withRedis(inv.hosts[1].address, password, (c) => c.info("replication"))).includes("master_link_status:up"));
    });

    it("is re-entrant: a second up is fast and keeps keys and data", async () => {
        const started = Date.now();
        const again = await up({ site: "legacy-redis" });
        assert.ok(Date.now() - started < 10_000, `second up took ${Date.now() - started} ms`);
        assert.deepStrictEqual(again.hosts, inv.hosts);
        assert.strictEqual(await withRedis(inv.vip!.address, password, (c) => c.dbsize()), DATASET_KEYS);
    });

    it("down leaves no namespace, bridge, mount or process behind", async () => {
        const pids = (await run("ip", ["netns", "pids", `${NAME_PREFIX}h1`])).stdout.split(/\s+/).filter(Boolean);
        assert.ok(pids.length > 0);
        await down();
        assert.ok(!(await run("ip", ["netns", "list"])).stdout.includes(NAME_PREFIX), "no namespace of the sandbox remains");
        assert.ok(!(await run("ip", ["-br", "link"])).stdout.includes(NAME_PREFIX), "no link of the sandbox remains");
        // Only this sandbox's mounts: another one (SANDBOX_DIR) may run beside it.
        assert.ok(!fs.readFileSync("/proc/self/mountinfo", "utf8").includes(`${settingsFromEnv().stateDir}/`), "no mount of the sandbox remains");
        for (const pid of pids) assert.ok(!fs.existsSync(`/proc/${pid}`), `pid ${pid} still runs`);
        assert.strictEqual(await status(), undefined);
    });
});
