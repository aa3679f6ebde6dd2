import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, formatProblem } from "../../../lib/core/validate";
import { RedisHaArgs, resolveRedisHa } from "../../../lib/redis/args";

/*
 * Every argument error names the argument as the user wrote it (`args.managed.root`), the value
 * and the rule, and comes from the component's own validation, never from an internal check of
 * a path the library derived from it.
 */

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const args = (over: Partial<RedisHaArgs> = {}): RedisHaArgs => ({
    master: { name: "h1", address: "10.0.0.11", privateKey: pulumi.secret("KEY"), hostKey },
    slave: { name: "h2", address: "10.0.0.12", privateKey: pulumi.secret("KEY"), hostKey },
    vip: { address: "10.0.0.100", interface: "eth0" },
    password: "pw",
    version: "7.0.15",
    ...over,
});

/** The lines of the error, `path: rule (got value)`, or none. */
function messages(a: RedisHaArgs): string[] {
    try {
        resolveRedisHa("redis", a);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        for (const p of e.problems) assert.ok(p.path.startsWith("args."), `${p.path} does not name an argument as written`);
        return e.problems.map(formatProblem);
    }
    return [];
}

describe("RedisHa arguments: addresses and paths", function () {
    it("accepts the defaults", function () {
        assert.deepEqual(messages(args()), []);
    });

    it("refuses a VIP equal to the master's or the slave's own address", function () {
        assert.deepEqual(messages(args({ vip: { address: "10.0.0.11" } })), [
            'args.vip.address: must differ from args.master.address: keepalived would move the master\'s own address to the other host (got "10.0.0.11")',
        ]);
        assert.deepEqual(messages(args({ vip: { address: "10.0.0.12" } })), [
            'args.vip.address: must differ from args.slave.address: keepalived would move the slave\'s own address to the other host (got "10.0.0.12")',
        ]);
    });

    it("refuses a VIP given as a host name", function () {
        assert.deepEqual(messages(args({ vip: { address: "redis-vip.example" } })), [
            'args.vip.address: must be an IPv4 address: keepalived moves an address, not a name (got "redis-vip.example")',
        ]);
    });

    it("refuses a managed root of / by its own name, not by a path derived from it", function () {
        const found = messages(args({ managed: { root: "/" } }));
        assert.deepEqual(found, [
            'args.managed.root: must not be /: the managed instance needs a directory of its own, which a rollback removes (got "/")',
        ]);
        assert.ok(!found.join("\n").includes("linkPath") && !found.join("\n").includes("//"));
    });

    for (const [root, rule] of [
        ["/app/middleware/redis/", "must be normalised (no '.' or empty segments, no trailing /)"],
        ["/app//middleware/redis", "must be normalised (no '.' or empty segments, no trailing /)"],
        ["/app/middleware/./redis", "must be normalised (no '.' or empty segments, no trailing /)"],
        ["/app/middleware/../redis", "must not contain .. segments"],
        ["app/middleware/redis", "must be an absolute path (start with /)"],
        ["/app/middleware redis", "must use only the characters A-Z a-z 0-9 . _ / + @ -"],
    ]) {
        it(`refuses a managed root ${JSON.stringify(root)}: ${rule}`, function () {
            assert.deepEqual(messages(args({ managed: { root } })), [`args.managed.root: ${rule} (got ${JSON.stringify(root)})`]);
        });
    }

    it("refuses a managed root equal to, inside, or containing a legacy path or its backup", function () {
        const contains = (root: string, key: string, path: string) =>
            `args.managed.root: must not contain args.legacy.${key} (${path}): the legacy files must survive untouched (got ${JSON.stringify(root)})`;
        assert.deepEqual(messages(args({ managed: { root: "/app/redis_data" } })), [
            'args.managed.root: must not equal args.legacy.dataDir (/app/redis_data): the legacy files must survive untouched (got "/app/redis_data")',
        ]);
        assert.deepEqual(messages(args({ managed: { root: "/app/soft/redis-5.0.5/managed" } })), [
            'args.managed.root: must not lie inside args.legacy.installDir (/app/soft/redis-5.0.5): the legacy files must survive untouched (got "/app/soft/redis-5.0.5/managed")',
        ]);
        assert.deepEqual(messages(args({ managed: { root: "/etc" } })), [
            contains("/etc", "config", "/etc/redis/redis.conf"),
            contains("/etc", "keepalivedConfig", "/etc/keepalived/keepalived.conf"),
            contains("/etc", "redisInit", "/etc/init.d/redis"),
            contains("/etc", "keepalivedInit", "/etc/init.d/keepalived"),
        ]);
        assert.deepEqual(messages(args({ managed: { root: "/app/redis_data_bak" } })), [
            'args.managed.root: must not overlap /app/redis_data_bak, the backup of args.legacy.dataDir: the legacy files must survive untouched (got "/app/redis_data_bak")',
        ]);
        // A sibling whose name merely starts the same is not inside.
        assert.deepEqual(messages(args({ managed: { root: "/app/redis_data2" } })), []);
    });

    it("refuses a managed root that holds the install sources", function () {
        assert.deepEqual(messages(args({ managed: { root: "/opt/redis" }, source: { redisServer: "/opt/redis/bin/redis-server" } })), [
            'args.managed.root: must not contain args.source.redisServer (/opt/redis/bin/redis-server): a rollback removes what is under the managed root (got "/opt/redis")',
        ]);
    });

    it("refuses legacy paths that are /, not normalised, or inside one another", function () {
        assert.deepEqual(messages(args({ legacy: { dataDir: "/" } })), [
            'args.legacy.dataDir: must not be /: the migration renames it to _bak (got "/")',
        ]);
        assert.deepEqual(messages(args({ legacy: { installDir: "/app/soft/redis/" } })), [
            'args.legacy.installDir: must be normalised (no \'.\' or empty segments, no trailing /) (got "/app/soft/redis/")',
            'args.legacy.cli: must be normalised (no \'.\' or empty segments, no trailing /) (got "/app/soft/redis//bin/redis-cli")',
        ]);
        assert.deepEqual(messages(args({ legacy: { dataDir: "/app/soft/redis-5.0.5/data" } })), [
            'args.legacy.dataDir: must not lie inside args.legacy.installDir (/app/soft/redis-5.0.5): renaming that one to _bak would move this one with it (got "/app/soft/redis-5.0.5/data")',
        ]);
        assert.deepEqual(messages(args({ legacy: { keepalivedConfig: "/etc/redis/redis.conf" } })), [
            'args.legacy.keepalivedConfig: must differ from args.legacy.config (/etc/redis/redis.conf): each legacy path is renamed to _bak on its own (got "/etc/redis/redis.conf")',
        ]);
        assert.deepEqual(messages(args({ legacy: { dataDir: "../redis_data" } })), [
            'args.legacy.dataDir: must be an absolute path (start with /) (got "../redis_data")',
            'args.legacy.dataDir: must not contain .. segments (got "../redis_data")',
        ]);
    });

    it("names the source paths as written", function () {
        assert.deepEqual(messages(args({ source: { redisCli: "redis-cli" } })), [
            'args.source.redisCli: must be an absolute path (start with /) (got "redis-cli")',
        ]);
    });
});
