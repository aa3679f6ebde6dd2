import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { inOrder } from "../../../lib/core/plan";
import { ConfigError } from "../../../lib/core/validate";
import { RedisHaArgs, resolveRedisHa } from "../../../lib/redis/args";
import { planRedisHa, REDIS_STEPS as S } from "../../../lib/redis/plan";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const PASSWORD = "s3cret-Pa55word-that-must-not-leak";
const args = (over: Partial<RedisHaArgs> = {}): RedisHaArgs => ({
    master: { name: "h1", address: "10.0.0.11", privateKey: pulumi.secret("KEY"), hostKey },
    slave: { name: "h2", address: "10.0.0.12", privateKey: pulumi.secret("KEY"), hostKey },
    vip: { address: "10.0.0.100", interface: "eth0", password: "vrrp-pw" },
    password: PASSWORD,
    version: "7.0.15",
    ...over,
});

function problems(a: RedisHaArgs): string[] {
    try {
        resolveRedisHa("redis", a);
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems.map((p) => `${p.path}: ${p.rule}`);
    }
    return [];
}

describe("RedisHa arguments", function () {
    it("resolves the runbook's legacy paths and the managed root by default", function () {
        const r = resolveRedisHa("redis", args());
        assert.equal(r.legacy.installDir, "/app/soft/redis-5.0.5");
        assert.equal(r.legacy.cli, "/app/soft/redis-5.0.5/bin/redis-cli");
        assert.equal(r.legacy.config, "/etc/redis/redis.conf");
        assert.equal(r.managedRoot, "/app/middleware/redis");
        assert.deepEqual(r.vip, { address: "10.0.0.100", prefix: 24, interface: "eth0", virtualRouterId: 51, password: "vrrp-pw" });
        assert.equal(r.port, 6379);
    });

    it("gathers every problem into one error naming the property and the rule", function () {
        const found = problems(args({
            slave: { name: "h1", address: "10.0.0.11", privateKey: "K", hostKey: "not a key" },
            vip: { address: "10.0.0.300", virtualRouterId: 256, interface: "eth 0" },
            port: 70000,
            version: "latest",
            legacy: { dataDir: "relative/data", rdbFile: "../dump.rdb" },
            managed: { root: "/app/soft" },
        }));
        assert.deepEqual(found.sort(), [
            "args.managed.root: must not contain args.legacy.installDir (/app/soft/redis-5.0.5): the legacy files must survive untouched",
            "args.managed.root: must not contain args.legacy.keepalivedDir (/app/soft/keepalived): the legacy files must survive untouched",
            "args.legacy.dataDir: must be an absolute path (start with /)",
            "args.legacy.rdbFile: must be a plain file name",
            "args.port: must be an integer from 1 to 65535",
            "args.slave.address: must differ from args.master.address",
            "args.slave.hostKey: must be an OpenSSH public key line such as 'ssh-ed25519 AAAA...' (see ssh-keyscan)",
            "args.slave.name: must differ from args.master.name: the pair needs two hosts",
            "args.version: must be a version like 1.2.3 (up to 4 numbers, optional -suffix or +suffix)",
            "args.vip.address: must be an IPv4 address (a.b.c.d) or a DNS host name (letters, digits, '-' inside labels)",
            "args.vip.interface: must be a network interface name such as eth0",
            "args.vip.virtualRouterId: must be an integer from 1 to 255",
        ].sort());
    });

    it("refuses a password redis.conf cannot carry, without showing it", function () {
        let e: ConfigError | undefined;
        try {
            resolveRedisHa("redis", args({ password: 'a"b' }));
        } catch (x) {
            e = x as ConfigError;
        }
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /args\.password: must not contain double quotes/);
        assert.ok(!e.message.includes('a"b'));
    });
});

describe("RedisHa plan", function () {
    const plan = planRedisHa("redis", resolveRedisHa("redis", args()));
    const byId = new Map(plan.steps.map((s) => [s.id, s]));

    it("checks both hosts before any change, then stages, installs (slave first), slave out, master switch, slave in", function () {
        const order = inOrder(plan).map((s) => `${s.host}:${s.id}`);
        assert.deepEqual(order, [
            "h1:master-precheck", "h2:slave-precheck", "h1:master-stage", "h2:slave-stage", "h2:slave-install", "h1:master-install",
            "h2:slave-out", "h1:master-switch", "h2:slave-in",
        ]);
        for (const s of plan.steps.filter((x) => x.kind !== "check")) {
            assert.ok(s.after?.includes(S.masterPrecheck) && s.after?.includes(S.slavePrecheck), `${s.id} must wait on both pre-checks`);
        }
        assert.deepEqual(byId.get(S.slaveOut)!.after!.slice(0, 2), [S.masterInstall, S.slaveInstall]);
        assert.ok(byId.get(S.masterInstall)!.after!.includes(S.slaveInstall), "the slave changes version first");
        assert.ok(byId.get(S.masterSwitch)!.after!.includes(S.slaveOut));
        assert.ok(byId.get(S.slaveIn)!.after!.includes(S.masterSwitch));
    });

    it("renames the runbook's seven legacy paths on each host, and their inverses rename them back", function () {
        for (const id of [S.slaveOut, S.masterSwitch]) {
            const { forward, inverse } = byId.get(id)!.action;
            for (const p of ["/app/soft/redis-5.0.5", "/app/soft/keepalived", "/etc/init.d/redis", "/etc/init.d/keepalived", "/app/redis_data", "/etc/redis/redis.conf", "/etc/keepalived/keepalived.conf"]) {
                assert.ok(forward.includes(`mv -- '${p}' '${p}_bak'`), `${id} forward renames ${p}`);
                assert.ok(inverse.includes(`mv -- '${p}_bak' '${p}'`), `${id} inverse renames ${p} back`);
            }
        }
    });

    it("the switch pauses writes before saving, checks key counts in the window and proves the content after it", function () {
        const { forward, inverse } = byId.get(S.masterSwitch)!.action;
        for (const script of [forward, inverse]) {
            const at = (text: string) => {
                const i = script.indexOf(text, script.indexOf(`mkdir -p "$MW_STEP_DIR" && chmod 0700`));
                assert.ok(i > 0, `missing: ${text}`);
                return i;
            };
            assert.ok(at("CLIENT PAUSE '60000' WRITE") < at("SAVE"), "writes are paused before the save");
            assert.ok(at("SAVE") < at("redis stopped"));
            // (A resumed step that finds the new server already serving only unpauses it: that comes first.)
            const unpause = script.indexOf("CLIENT UNPAUSE", at("key counts differ after the switch"));
            assert.ok(unpause > 0, "key counts are checked before writes resume");
            assert.ok(unpause < at("VIP up"));
            assert.ok(at("VIP up") < at("mw_old=$(mw_offline_digest"), "the content proof runs after the window");
            assert.match(script, /the data reads differently in the two versions/);
        }
    });

    it("redoes a step only when what it depends on changes: never the pre-checks, only the installs on a new version", function () {
        const other = planRedisHa("redis", resolveRedisHa("redis", args({ version: "7.2.4" })));
        const changed = plan.steps.filter((s) => JSON.stringify(s.triggers) !== JSON.stringify(other.steps.find((o) => o.id === s.id)!.triggers)).map((s) => s.id);
        assert.deepEqual(changed, [S.slaveInstall, S.masterInstall]);
        for (const id of [S.slaveInstall, S.masterInstall]) assert.equal(byId.get(id)!.replace, "forward-first", `${id}: the new version runs before the old one is removed`);
        const sameScripts = plan.steps.filter((s) => other.steps.find((o) => o.id === s.id)!.action.forward === s.action.forward).map((s) => s.id);
        assert.deepEqual(sameScripts, plan.steps.map((s) => s.id).filter((id) => id !== S.slaveInstall && id !== S.masterInstall), "no other script names the version");
        assert.equal(byId.get(S.masterPrecheck)!.triggers, undefined);
        assert.equal(byId.get(S.slavePrecheck)!.triggers, undefined);
        const moved = planRedisHa("redis", resolveRedisHa("redis", args({ vip: { address: "10.0.0.101", password: "vrrp-pw" } })));
        assert.ok(moved.steps.filter((s) => s.kind !== "check").every((s) => JSON.stringify(s.triggers) !== JSON.stringify(byId.get(s.id)!.triggers)));
    });

    it("never puts the password into a script; every step gets it on stdin as a secret", async function () {
        for (const s of plan.steps) {
            assert.ok(!s.action.forward.includes(PASSWORD) && !s.action.inverse.includes(PASSWORD), `${s.id} script holds the password`);
            assert.equal(await pulumi.isSecret(s.stdin as pulumi.Output<string>), true, `${s.id} stdin must be secret`);
        }
    });

    it("finalize adds the irreversible backup removal last and protects every step", function () {
        const final = planRedisHa("redis", resolveRedisHa("redis", args({ finalize: true })));
        const last = inOrder(final).slice(-2).map((s) => s.id).sort();
        assert.deepEqual(last, [S.masterRemoveBackups, S.slaveRemoveBackups]);
        assert.ok(final.steps.every((s) => s.protect === true));
        assert.ok(plan.steps.every((s) => s.protect === false));
    });
});
