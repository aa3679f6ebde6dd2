import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { crashPointsOf } from "../../../lib/core/actions/reversible";
import { resolveRedisHa } from "../../../lib/redis/args";
import { keepalivedInit, managedPaths, redisInit } from "../../../lib/redis/files";
import { planRedisHa, REDIS_STEPS as S } from "../../../lib/redis/plan";

/*
 * The order inside the switch that makes a crash between any two commands recoverable (run for
 * real, crashed at every point, in test/sandbox/redis-crash.test.ts): whichever init scripts a
 * host boots with, the redis they start has the data.
 */

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const r = resolveRedisHa("redis", {
    master: { name: "h1", address: "10.0.0.11", privateKey: pulumi.secret("KEY"), hostKey },
    slave: { name: "h2", address: "10.0.0.12", privateKey: pulumi.secret("KEY"), hostKey },
    vip: { address: "10.0.0.100" },
    password: "pw",
    version: "7.0.15",
});
const plan = planRedisHa("redis", r);
const action = (id: string) => plan.steps.find((s) => s.id === id)!.action;
const after = (script: string, first: string, then: string) => {
    const [i, j] = [script.indexOf(first), script.indexOf(then)];
    assert.ok(i >= 0 && j >= 0, `missing ${i < 0 ? first : then}`);
    return i < j;
};

describe("RedisHa steps after a crash", function () {
    it("the switch puts the RDB into the managed data dir before it links the init scripts", function () {
        const f = action(S.masterSwitch).forward;
        assert.ok(after(f, "# crash point: data in place", "# crash point: link /etc/init.d/redis"));
        assert.ok(after(f, "ln '/app/redis_data_bak/dump.rdb' '/app/middleware/redis/data/dump.rdb'", "ln -s '/app/middleware/redis/init.d/redis' '/etc/init.d/redis'"));
    });

    it("its inverse carries the data into the legacy data dir before the legacy init scripts come back", function () {
        const i = action(S.masterSwitch).inverse;
        assert.ok(after(i, "# crash point: data carried", "# crash point: restore /etc/init.d/redis"));
        assert.ok(after(i, "ln -f '/app/middleware/redis/data/dump.rdb'", "mv -- '/etc/init.d/redis_bak' '/etc/init.d/redis'"));
    });

    it("every step that changes a host has crash points at its start, inside and at its end, in both directions", function () {
        for (const s of plan.steps.filter((x) => x.kind !== "check")) {
            for (const [d, script] of [["forward", s.action.forward], ["inverse", s.action.inverse]]) {
                const points = crashPointsOf(script);
                assert.ok(points.length >= 3, `${s.id} ${d}: ${points.join(", ")}`);
                assert.equal(new Set(points).size, points.length, `${s.id} ${d}: unique names`);
            }
        }
    });

    it("the managed init scripts count a pid from a pid file only when its process has the daemon's name", function () {
        const m = managedPaths(r.managedRoot);
        for (const init of [redisInit(r, m), keepalivedInit(r, m)]) {
            assert.match(init, /is_ours "\$\(cat "\$PIDFILE"\)"/);
            assert.match(init, /comm=\$\(cat "\/proc\/\$1\/comm"/);
        }
        assert.match(keepalivedInit(r, m), /rm -f '\/app\/middleware\/redis\/run\/keepalived_vrrp.pid' '\/app\/middleware\/redis\/run\/keepalived_checkers.pid'/);
    });
});
