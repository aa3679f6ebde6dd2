import * as assert from "assert";
import { spawnSync } from "child_process";
import { ConfigError } from "../../../lib/core/validate";
import { inOrder } from "../../../lib/core/plan";
import { renderLocalStep } from "../../../lib/core/local-step";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ThreescaleRestore, ThreescaleRestoreArgs } from "../../../lib/threescale";
import { describeChange, emittedValue } from "../../../lib/threescale/cluster-changes";

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
    it("orders the runbook's phases: Redis config off, swaps, AOF rewrites, config back, zync down/load/up, dependants, all ready", () => {
        const plan = ThreescaleRestore.planOf("restore", ARGS);
        assert.deepStrictEqual(inOrder(plan).map((s) => `${s.host}/${s.id}`), [
            "cluster/redis-persistence-off",
            "cluster/redis-persistence-off-live",
            "cluster/backend-redis-swap-data",
            "cluster/system-redis-swap-data",
            "cluster/backend-redis-rewrite-aof",
            "cluster/system-redis-rewrite-aof",
            "cluster/redis-persistence-on",
            "cluster/redis-persistence-on-live",
            "cluster/zync-scale-down",
            "cluster/zync-load-dump",
            "cluster/zync-scale-up",
            "cluster/rollout-dependants",
            "cluster/restored-ready",
        ]);
    });

    it("puts the ConfigMap changes, rollouts and scaling after the step that keeps what they replace", () => {
        const plan = ThreescaleRestore.planOf("restore", ARGS);
        const waves = plan.waves.map((w) => `${w.after}: ${w.changes.map(describeChange).join(" | ")}`);
        assert.deepStrictEqual(waves, [
            "redis-persistence-off: ConfigMap redis-config: redis.conf set to the text of redis-persistence-off (off)",
            "redis-persistence-off: Deployment backend-redis: rolled out (persistence-off) | Deployment system-redis: rolled out (persistence-off)",
            "redis-persistence-on: ConfigMap redis-config: redis.conf set to the text of redis-persistence-off (before)",
            "redis-persistence-on: Deployment backend-redis: rolled out (persistence-on) | Deployment system-redis: rolled out (persistence-on)",
            "zync-scale-down: Deployment zync: scaled to 0 | Deployment zync-que: scaled to 0",
            "zync-scale-up: Deployment zync: scaled to the count zync-scale-down kept | Deployment zync-que: scaled to the count zync-scale-down kept",
            "rollout-dependants: Deployment backend-listener: rolled out (restored) | Deployment backend-worker: rolled out (restored) | "
                + "Deployment backend-cron: rolled out (restored) | Deployment system-app: rolled out (restored) | Deployment system-sidekiq: rolled out (restored)",
        ]);
        const ids = plan.waves.flatMap((w) => w.changes.map((c) => c.id));
        assert.strictEqual(new Set(ids).size, ids.length, "change ids are unique");
        assert.match(plan.steps.find((s) => s.id === "zync-scale-down")!.summary, /then Deployment zync: scaled to 0; Deployment zync-que: scaled to 0$/);
        for (const s of plan.steps.filter((x) => x.id.endsWith("-live"))) assert.strictEqual(s.kind, "check");
    });

    it("reads what a step told the program from its stdout, base64 text exactly", () => {
        const text = "save 900 1\nappendonly yes\n# é\n";
        const out = `at=2026-12-07T03:00:00Z\nbefore=base64:${Buffer.from(text).toString("base64")}\nreplicas.zync=2`;
        assert.strictEqual(emittedValue(out, { step: "s", key: "before" }), text);
        assert.strictEqual(emittedValue(out, { step: "s", key: "replicas.zync" }), "2");
        assert.strictEqual(emittedValue(out, { step: "s", key: "at" }), "2026-12-07T03:00:00Z");
        assert.throws(() => emittedValue(out, { step: "s", key: "off" }), /step s did not tell off/);
    });

    it("phase 1 keeps the ConfigMap's text once and tells it, and the text without persistence, exactly (a stand-in kubectl)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "threescale-keep-"));
        try {
            const conf = "bind 0.0.0.0\nsave 900 1\nsave 300 10\nappendonly yes\ndir /var/lib/redis/data";
            const kubectl = path.join(dir, "kubectl");
            fs.writeFileSync(kubectl, `#!/bin/sh\ncat ${dir}/cm.json\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "cm.json"), JSON.stringify({ data: { "redis.conf": conf } }));
            const plan = ThreescaleRestore.planOf("restore", { ...ARGS, kubectl });
            const off = plan.steps.find((s) => s.id === "redis-persistence-off")!;
            const script = renderLocalStep({ component: "restore", step: off.id, target: "cluster", action: off.action, stateDir: path.join(dir, "state") }).create;
            const run = () => spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
            const first = run();
            assert.strictEqual(first.status, 0, first.stderr);
            assert.strictEqual(emittedValue(first.stdout, { step: off.id, key: "before" }), conf);
            assert.strictEqual(emittedValue(first.stdout, { step: off.id, key: "off" }),
                "bind 0.0.0.0\n# save 900 1\n# save 300 10\nappendonly no\ndir /var/lib/redis/data\nsave \"\"\n");
            fs.writeFileSync(path.join(dir, "cm.json"), JSON.stringify({ data: { "redis.conf": "appendonly no\n" } }));
            assert.strictEqual(emittedValue(run().stdout, { step: off.id, key: "before" }), conf, "a resumed run tells the first text");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
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
