import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { CHANGE_PLAN_OUTPUT, componentChangePlan } from "../../../lib/approval/change-plan";
import type { Plan } from "../../../lib/core/plan";
import { planRows } from "../../../lib/core/plan";
import { resolvePostgresHa } from "../../../lib/postgres/args";
import { planPostgresHa } from "../../../lib/postgres/plan";
import { resolveRedisHa } from "../../../lib/redis/args";
import { planRedisHa } from "../../../lib/redis/plan";
import { oneTopologySwitching, SiteResource, STEP_TYPE } from "../../../policy/rules";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (name: string, n: number) => ({ name, address: `10.0.0.${n}`, privateKey: pulumi.secret("KEY"), hostKey });
const redis = planRedisHa("redis", resolveRedisHa("redis", {
    master: host("h1", 11), slave: host("h2", 12), vip: { address: "10.0.0.100", interface: "eth0", password: "vrrp-pw" }, password: "pw", version: "7.0.15",
}));
const postgres = (primary: string) => planPostgresHa("postgres", resolvePostgresHa("postgres", {
    master: host("h3", 13), standby: host("h4", 14), primary, version: "15", vip: { address: "10.0.0.101" }, replication: { password: "pw" },
}), "pw");

/** A site whose every step is still to run (none has recorded stdout), as a preview of a first `up` shows it. */
function site(...plans: Plan[]): SiteResource[] {
    const changePlan = Object.fromEntries(plans.map((p) => [p.component, componentChangePlan(`middleware:${p.component}`, `middleware:${p.component}`, p)]));
    return [
        { type: "pulumi:pulumi:Stack", name: "site", props: { [CHANGE_PLAN_OUTPUT]: JSON.stringify(changePlan) }, protect: false, additionalSecretOutputs: [] },
        ...plans.flatMap((p) => planRows(p).map((r) => ({ type: STEP_TYPE, name: r.resource, props: {}, protect: false, additionalSecretOutputs: [] }))),
    ];
}

describe("policy rule one-topology-switching on real plans", () => {
    it("refuses a PostgreSQL switchover in the same update as the Redis master switch, naming both", () => {
        const [violation, ...more] = oneTopologySwitching(site(redis, postgres("h4")));
        assert.deepEqual(more, []);
        assert.match(violation, /^2 topologies switch in one update \(redis: [^;]*master-switch[^;]*; postgres: standby-switch-back, master-switchover\)/);
    });

    it("lets a PostgreSQL standby be built beside the Redis switch: building moves nothing clients see", () => {
        assert.deepEqual(oneTopologySwitching(site(redis, postgres("h3"))), []);
    });
});
