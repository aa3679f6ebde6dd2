import * as assert from "assert";
import { spawnSync } from "child_process";
import { ConfigError } from "../../../lib/core/validate";
import { inOrder } from "../../../lib/core/plan";
import { renderLocalStep } from "../../../lib/core/local-step";
import { ThreescaleRestore, ThreescaleRestoreArgs } from "../../../lib/threescale";

const ARGS: ThreescaleRestoreArgs = {
    kubeconfig: "/etc/site/kubeconfig",
    kubectl: "/opt/k8s/bin/kubectl",
    redis: { restore: { "backend-redis": "/backups/backend-redis.rdb", "system-redis": "/backups/system-redis.rdb" } },
    zync: { backup: "/backups/zync.sql.gz", host: "/tmp" },
};

function problems(args: ThreescaleRestoreArgs): string[] {
    try {
        ThreescaleRestore.planOf("restore", args);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems.map((p) => `${p.path} ${JSON.stringify(p.value)}`);
    }
    return [];
}

describe("threescale/plan", () => {
    it("orders the runbook's phases: Redis config off, swaps, AOF rewrites, config back, zync down/load/up, dependants", () => {
        const plan = ThreescaleRestore.planOf("restore", ARGS);
        assert.deepStrictEqual(inOrder(plan).map((s) => `${s.host}/${s.id}`), [
            "cluster/redis-persistence-off",
            "cluster/backend-redis-swap-data",
            "cluster/system-redis-swap-data",
            "cluster/backend-redis-rewrite-aof",
            "cluster/system-redis-rewrite-aof",
            "cluster/redis-persistence-on",
            "cluster/zync-scale-down",
            "cluster/zync-load-dump",
            "cluster/zync-scale-up",
            "cluster/rollout-dependants",
        ]);
    });

    it("restoring backend-redis only still rewrites system-redis's AOF (it shares the ConfigMap) and does not swap its data", () => {
        const plan = ThreescaleRestore.planOf("restore", { ...ARGS, redis: { restore: { "backend-redis": "/b.rdb" } }, zync: undefined });
        const ids = inOrder(plan).map((s) => s.id);
        assert.ok(!ids.includes("system-redis-swap-data"));
        assert.ok(ids.includes("system-redis-rewrite-aof"));
        const off = plan.steps.find((s) => s.id === "redis-persistence-off")!;
        assert.match(off.action.inverse, /for mw_u in 'system-redis'; do mw_wait_ready "\$mw_u"; mw_rewrite_aof "\$mw_u"; done/);
    });

    it("every step's forward and inverse parse with sh -n once framed", () => {
        for (const s of ThreescaleRestore.planOf("restore", ARGS).steps) {
            const r = renderLocalStep({ component: "restore", step: s.id, target: "cluster", action: s.action, stateDir: "/tmp/x" });
            for (const script of [r.create, r.delete ?? ""]) {
                const out = spawnSync("/bin/sh", ["-n", "-c", script]);
                assert.strictEqual(out.status, 0, `${s.id}: ${out.stderr}`);
            }
        }
    });

    it("gathers every invalid argument into one error naming args.<key> and the value", () => {
        assert.deepStrictEqual(problems({
            kubeconfig: "relative/kubeconfig",
            namespace: "Three_Scale",
            redis: { restore: { "backend-redis": "b.rdb", "other-redis": "/x.rdb" } as never, configUsers: ["system-redis"] },
            zync: { backup: "/z.sql.gz", database: "Zync-DB" },
            rolloutTimeoutSeconds: 0,
        }), [
            'args.kubeconfig "relative/kubeconfig"',
            'args.namespace "Three_Scale"',
            'args.rolloutTimeoutSeconds 0',
            'args.redis.restore.backend-redis "b.rdb"',
            'args.redis.configUsers ["system-redis"]',
            'args.redis.restore "other-redis"',
            'args.zync.database "Zync-DB"',
        ]);
        assert.deepStrictEqual(problems({ kubeconfig: "/k" }), ['args {"kubeconfig":"/k"}']);
        assert.deepStrictEqual(problems({ kubeconfig: "/k", redis: { restore: {} } }), ["args.redis.restore {}"]);
    });
});
