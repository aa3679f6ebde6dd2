import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { raw } from "../../../lib/core/shell";
import { resolveRedisHa } from "../../../lib/redis/args";
import { versionConf } from "../../../lib/redis/files";
import { masterOnto } from "../../../lib/redis/rolling";
import { planRedisHa, REDIS_STEPS as S } from "../../../lib/redis/plan";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const r = resolveRedisHa("redis", {
    master: { name: "h1", address: "10.0.0.11", privateKey: pulumi.secret("KEY"), hostKey },
    slave: { name: "h2", address: "10.0.0.12", privateKey: pulumi.secret("KEY"), hostKey },
    vip: { address: "10.0.0.100", interface: "eth0", password: "vrrp-pw" },
    password: "pw",
    version: "6.2.11",
});

/** Asserts the fragments occur in `script` in this order. */
function inThisOrder(script: string, fragments: readonly string[]): void {
    let at = -1;
    for (const f of fragments) {
        const i = script.indexOf(f, at + 1);
        assert.ok(i > at, `expected after position ${at}: ${f}`);
        at = i;
    }
}

describe("Redis rolling version change", function () {
    it("the master's switchover: every write on the slave before it is promoted, the VIP there before the master stops, and back the same way", function () {
        inThisOrder(masterOnto(r, raw("'versions/6.2.11'")), [
            "master_link_status",
            "mw_ok_at 127.0.0.1 '/app/middleware/redis/current/bin/redis-cli' CLIENT PAUSE",
            "mw_wait_caught_up 127.0.0.1 '10.0.0.12'",
            "mw_ok_at '10.0.0.12' '/app/middleware/redis/current/bin/redis-cli' REPLICAOF NO ONE",
            "service 'keepalived' stop",
            "mw_run_id_at '10.0.0.100'",
            "service 'redis' stop",
            "ln -sfn 'versions/6.2.11'",
            "service 'redis' start",
            "mw_wait_loaded",
            "REPLICAOF '10.0.0.12' '6379'",
            "mw_wait_synced",
            "service 'keepalived' start",
            "mw_wait_vip",
            "mw_ok_at '10.0.0.12' '/app/middleware/redis/current/bin/redis-cli' CLIENT PAUSE",
            "mw_wait_caught_up '10.0.0.12' 127.0.0.1",
            "mw_ok_at 127.0.0.1 '/app/middleware/redis/current/bin/redis-cli' REPLICAOF NO ONE",
            "mw_ok_at '10.0.0.12' '/app/middleware/redis/current/bin/redis-cli' REPLICAOF '10.0.0.11' '6379'",
            "CLIENT UNPAUSE",
        ]);
    });

    it("the install steps check the RDB format before they restart anything, and the way back uses the same switchover", function () {
        const plan = planRedisHa("redis", r);
        for (const id of [S.slaveInstall, S.masterInstall]) {
            const { forward, inverse } = plan.steps.find((s) => s.id === id)!.action;
            inThisOrder(forward, ["mw_rdb_version '/app/middleware/redis/versions/6.2.11/bin/redis-server'", "cannot read the data this pair holds", "rolling-from-6.2.11", "service 'redis' stop"]);
            inThisOrder(inverse, ["rolling-from-6.2.11", "service 'redis' stop", "rm -rf '/app/middleware/redis/versions/6.2.11'"]);
        }
        for (const [id, firstChange] of [[S.slaveIn, "service 'keepalived' stop"], [S.masterSwitch, "CLIENT PAUSE"]]) {
            inThisOrder(plan.steps.find((s) => s.id === id)!.action.inverse, ["mw_rdb_version '/app/soft/redis-5.0.5_bak/bin/redis-server'", "the legacy redis cannot read the data", firstChange]);
        }
    });

    it("version.conf carries enable-debug-command only for 7.0 and newer (6.2 refuses to start on it)", function () {
        assert.doesNotMatch(versionConf("6.2.11"), /enable-debug-command/);
        assert.match(versionConf("7.0.15"), /^enable-debug-command local$/m);
        assert.match(versionConf("10.0.1"), /^enable-debug-command local$/m);
    });
});
