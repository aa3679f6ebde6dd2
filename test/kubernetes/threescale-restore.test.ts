import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import Redis from "ioredis";
import { Client } from "pg";
import type { Stack } from "@pulumi/pulumi/automation";
import { settingsFromEnv } from "../../sandbox/config";
import { Kubectl } from "../../sandbox/sites/kubectl";
import { missingKubernetesPrerequisites } from "../../sandbox/sites/kubernetes-build";
import type { ThreescaleFacts } from "../../sandbox/sites/threescale";
import { ZYNC_DATABASE, ZYNC_USER } from "../../sandbox/sites/threescale-manifests";
import { zyncRows } from "../../sandbox/sites/threescale-data";
import { checkpointPath, forgetStack, localStack } from "../../tools/engine";
import { threescaleSiteUp } from "../support/threescale-site";

/*
 * The 3scale restore through the real engine on the sandbox's cluster (real pods, kubectl run by
 * local Commands, ConfigMap changes, rollouts and scaling by @pulumi/kubernetes Patches): a
 * rollout that never becomes ready fails `up`, twice: the node tainted before phase 1's
 * rollouts fails their DeploymentPatch; a re-`up` resumes them and, the node tainted again once
 * phase 1 is checked, fails at the data swap's rollout (a local step, whose undo runs). The next
 * `up` resumes from there and finishes the restore (each Redis serves the backup, its save lines
 * and appendonly yes are back, its AOF rewritten; zync holds the dump's rows, its Deployments back
 * at their counts); a second `up` runs nothing; `destroy` brings back the pre-restore data files,
 * ConfigMap text, annotations, rows and counts. Last, an `up` that fails in phase 4's rollouts
 * (data swapped, AOFs rewritten, a Patch not ready) is destroyed straight away: the site is back
 * as at the start.
 */

const PROGRAM = path.join(__dirname, "fixtures", "threescale-restore");
const PROJECT = "threescale-restore";
const STACK = `threescale-restore-${process.pid}`;
const REDIS = ["backend-redis", "system-redis"] as const;
const CONSUMERS = ["zync", "zync-que"] as const;
const TAINT = "middleware-test/never-ready";
/** Short, so that the never-ready rollout fails fast. */
const ROLLOUT_TIMEOUT_SECONDS = 25;

interface SiteState {
    readonly config: string;
    readonly digests: Record<string, string>;
    readonly files: Record<string, Record<string, string>>;
    readonly rows: Record<string, number>;
    readonly replicas: Record<string, number>;
    /** The ConfigMap's and Deployments' annotations, but the revision the Deployment controller counts. */
    readonly annotations: Record<string, Record<string, string>>;
}

const sha = (file: string) => (fs.existsSync(file) ? createHash("sha256").update(fs.readFileSync(file)).digest("hex") : "absent");

describe("3scale restore through the engine on the sandbox's cluster", function () {
    this.timeout(1_800_000);
    let facts: ThreescaleFacts;
    let k: Kubectl;
    let stack: Stack;
    let stateDir: string;
    let start: SiteState;
    let restored: SiteState;
    const figures: string[] = [];

    async function podIp(deployment: string): Promise<string> {
        const pod = await k.readyPod(deployment);
        return (await k.must(["get", "pod", pod, "-o", "jsonpath={.status.podIP}"])).trim();
    }

    async function redisOf<T>(deployment: string, f: (r: Redis) => Promise<T>): Promise<T> {
        const r = new Redis({ host: await podIp(deployment), port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
            await r.connect();
            return await f(r);
        } finally {
            r.disconnect();
        }
    }

    async function siteState(): Promise<SiteState> {
        const cm = JSON.parse(await k.must(["get", "configmap", "redis-config", "-o", "json"]));
        const digests: Record<string, string> = {};
        const files: Record<string, Record<string, string>> = {};
        for (const d of REDIS) {
            digests[d] = String(await redisOf(d, (r) => r.call("DEBUG", "DIGEST")));
            const dir = facts.volumes[`${d}-storage`].onMachine;
            files[d] = Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, sha(path.join(dir, f))]));
        }
        const deployments = JSON.parse(await k.must(["get", "deployments", "-o", "json"])).items as { metadata: { name: string; annotations?: Record<string, string> }; spec: { replicas: number } }[];
        const replicas = Object.fromEntries(deployments.filter((d) => (CONSUMERS as readonly string[]).includes(d.metadata.name)).map((d) => [d.metadata.name, d.spec.replicas]));
        const annotations: Record<string, Record<string, string>> = { "configmap/redis-config": cm.metadata.annotations ?? {} };
        for (const d of deployments) {
            const { "deployment.kubernetes.io/revision": _revision, ...rest } = d.metadata.annotations ?? {};
            annotations[`deployment/${d.metadata.name}`] = rest;
        }
        return { config: cm.data["redis.conf"], digests, files, rows: await zyncRows(k), replicas, annotations };
    }

    async function zyncOverPg(): Promise<number> {
        const c = new Client({ host: await podIp("zync-database"), port: 5432, user: ZYNC_USER, database: ZYNC_DATABASE });
        await c.connect();
        try {
            return Number((await c.query("SELECT count(*) AS n FROM tenants")).rows[0].n);
        } finally {
            await c.end();
        }
    }

    async function timed<T>(what: string, op: () => Promise<T>): Promise<T> {
        const started = Date.now();
        try {
            return await op();
        } finally {
            const line = `${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`;
            figures.push(line);
            console.log(`      ${line}`);
        }
    }

    const journalLines = () => (fs.existsSync(path.join(stateDir, "journal")) ? fs.readFileSync(path.join(stateDir, "journal"), "utf8").trim().split("\n").filter(Boolean) : []);

    before(async function () {
        const missing = await missingKubernetesPrerequisites();
        if (missing.length) throw new Error(`missing: ${missing.join("; ")}; run npm run sandbox -- prerequisites --kubernetes`);
        const inv = await threescaleSiteUp();
        facts = inv.threescale!;
        k = new Kubectl(facts.kubeconfig, facts.namespace);
        await k.must(["taint", "nodes", facts.node, `${TAINT}:NoSchedule-`]).catch(() => undefined);
        stateDir = path.join(settingsFromEnv().stateDir, "threescale-restore-state");
        fs.rmSync(stateDir, { recursive: true, force: true });
        start = await siteState();
        for (const d of REDIS) assert.notEqual(start.digests[d], facts.redis[d].backupDigest, `${d} already holds the backup's data`);
        stack = await localStack(PROGRAM, STACK);
        const cfg: Record<string, string> = {
            kubeconfig: facts.kubeconfig,
            kubectl: facts.kubectl,
            namespace: facts.namespace,
            backendRedisBackup: facts.redis["backend-redis"].backupFile,
            systemRedisBackup: facts.redis["system-redis"].backupFile,
            zyncBackup: facts.zync.backupFile,
            zyncHost: "/tmp",
            rolloutTimeoutSeconds: String(ROLLOUT_TIMEOUT_SECONDS),
            stateDir,
        };
        for (const [key, value] of Object.entries(cfg)) await stack.setConfig(key, { value });
    });

    after(async function () {
        if (k && facts) await k.must(["taint", "nodes", facts.node, `${TAINT}:NoSchedule-`]).catch(() => undefined);
        if (stack) {
            const state = await stack.exportStack().catch(() => undefined);
            if ((state?.deployment.resources ?? []).some((r: { type: string }) => r.type === "command:local:Command")) await stack.destroy().catch(() => undefined);
            await forgetStack(stack, PROJECT, STACK, PROGRAM);
        }
        if (figures.length) console.log(`      figures:\n${figures.map((f) => `        ${f}`).join("\n")}`);
    });

    /**
     * `up` with the node tainted `NoSchedule` (no rollout gets a pod): from the start, or as soon
     * as this run's journal shows step `after` done. Pick a step that is followed by seconds of
     * work needing no new pod, so the taint is in place before the next rollout.
     */
    async function upTainted(what: string, after?: string): Promise<Error | undefined> {
        const taint = () => k.must(["taint", "nodes", facts.node, `${TAINT}:NoSchedule`]);
        const earlier = journalLines().length;
        let tainted = false;
        if (!after) {
            await taint();
            tainted = true;
        }
        const watcher = (async () => {
            const deadline = Date.now() + 300_000;
            while (!tainted && Date.now() < deadline) {
                if (journalLines().slice(earlier).some((l) => l.endsWith(`\t${after}\tforward\tok`))) {
                    await taint();
                    tainted = true;
                    return;
                }
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        })();
        try {
            await timed(what, () => stack.up());
            return undefined;
        } catch (e) {
            return e as Error;
        } finally {
            tainted = true;
            await watcher;
            await k.must(["taint", "nodes", facts.node, `${TAINT}:NoSchedule-`]).catch(() => undefined);
        }
    }

    /**
     * `up` failed on a Redis rollout of config phase `phase` that never got a pod: named by its
     * DeploymentPatch or, when the Patch's own wait took the Recreate rollout's scale-down for
     * done, by the `check` after it, which waits with `kubectl rollout status`.
     */
    function assertRolloutNeverReady(error: Error, phase: string, check: string): void {
        const byPatch = new RegExp(`DeploymentPatch::threescale-restore-cluster-${phase}-(backend|system)-redis-rollout" was successfully created, but the Kubernetes API server reported that it failed to fully initialize or become live: '(backend|system)-redis' timed out waiting to be Ready`);
        const byCheck = [
            new RegExp(`threescale-restore/${check} on cluster: forward action failed`),
            new RegExp(`deployment (backend|system)-redis in namespace 3scale did not become ready within ${ROLLOUT_TIMEOUT_SECONDS} s`),
        ];
        const named = byPatch.test(error.message) ? "its DeploymentPatch" : byCheck.every((r) => r.test(error.message)) ? check : undefined;
        assert.ok(named, `neither the rollout's Patch nor ${check} named the rollout that never became ready:\n${error.message.slice(-4000)}`);
        figures.push(`${phase} rollout never ready: named by ${named}`);
        console.log(`      ${figures[figures.length - 1]}`);
    }

    /** The restore's steps and Patches in the state, sorted (the rollouts of one phase finish in any order). */
    async function stepsAndPatchesInState(): Promise<string[]> {
        const state = await stack.exportStack();
        return (state.deployment.resources ?? [])
            .filter((r: { type: string }) => r.type === "command:local:Command" || (r.type.startsWith("kubernetes:") && r.type.endsWith("Patch")))
            .map((r: { urn: string }) => r.urn.split("::").pop()!.replace(/^threescale-restore-cluster-/, "")).sort();
    }

    it("fails `up` naming the Patch whose rollout never becomes ready (node tainted from the start: phase 1's step needs no new pod)", async function () {
        const error = await upTainted("up, the node tainted before phase 1's rollouts (fails)");
        assert.ok(error, "up succeeded although no pod could be scheduled");
        assertRolloutNeverReady(error, "persistence-off", "redis-persistence-off-live");
        assert.doesNotMatch(error.message, /=base64:/, "the ConfigMap's text the step tells the program is not shown");
        assert.deepEqual(await stepsAndPatchesInState(), [
            "redis-persistence-off", "persistence-off-redis-config", "persistence-off-backend-redis-rollout", "persistence-off-system-redis-rollout",
        ].sort());
    });

    it("a re-`up` resumes the rollouts, then fails naming the data swap whose rollout never becomes ready (node tainted once phase 1 is checked)", async function () {
        const error = await upTainted("up, the node tainted after phase 1 (fails)", "redis-persistence-off-live");
        assert.ok(error, "up succeeded although no pod could be scheduled");
        assert.match(error.message, /threescale-restore\/backend-redis-swap-data on cluster: forward action failed/);
        assert.match(error.message, /deployment backend-redis in namespace 3scale did not become ready within 25 s/);
        assert.deepEqual(await stepsAndPatchesInState(), [
            "redis-persistence-off", "persistence-off-redis-config", "persistence-off-backend-redis-rollout", "persistence-off-system-redis-rollout",
            "redis-persistence-off-live",
        ].sort());
        for (const d of REDIS) await k.must(["rollout", "status", `deployment/${d}`, "--timeout=300s"]);
    });

    it("a re-`up` resumes and restores: backup data in each Redis with save lines, appendonly yes and a rewritten AOF; zync's rows; counts back", async function () {
        const started = Date.now();
        const r = await timed("up (the restore)", () => stack.up());
        assert.equal(r.summary.result, "succeeded");
        const now = await siteState();
        restored = now;
        for (const d of REDIS) {
            assert.equal(now.digests[d], facts.redis[d].backupDigest, `${d} serves the backup's data`);
            await redisOf(d, async (c) => {
                assert.deepEqual(await c.config("GET", "save"), ["save", "900 1 300 10 60 10000"]);
                assert.deepEqual(await c.config("GET", "appendonly"), ["appendonly", "yes"]);
                const info = String(await c.info("persistence"));
                assert.match(info, /aof_enabled:1/);
                assert.match(info, /aof_last_bgrewrite_status:ok/);
            });
            const dir = facts.volumes[`${d}-storage`].onMachine;
            assert.ok(fs.statSync(path.join(dir, "appendonly.aof")).mtimeMs >= started - 1000, `${d}: appendonly.aof rewritten during the restore`);
            assert.notEqual(now.files[d]["appendonly.aof"], start.files[d]["appendonly.aof"]);
            assert.equal(now.files[d]["appendonly.aof-old"], start.files[d]["appendonly.aof"], `${d}: the pre-restore AOF kept as -old`);
            assert.equal(now.files[d]["dump.rdb-old"] !== undefined, true, `${d}: the pre-restore RDB kept as -old`);
        }
        assert.equal(now.config, start.config, "the ConfigMap's text is exactly as before");
        assert.deepEqual(now.rows, facts.zync.backupRows);
        assert.equal(await zyncOverPg(), facts.zync.backupRows.tenants);
        assert.deepEqual(now.replicas, start.replicas);
        for (const d of CONSUMERS) await k.must(["rollout", "status", `deployment/${d}`, "--timeout=60s"]);
        // The ConfigMap changes, rollouts and scaling went through @pulumi/kubernetes.
        const state = await stack.exportStack();
        const patches = (state.deployment.resources ?? []).filter((x: { type: string }) => x.type.startsWith("kubernetes:") && x.type.endsWith("Patch"))
            .map((x: { type: string }) => x.type.split(":").pop());
        assert.deepEqual(patches.sort(), [...Array(2).fill("ConfigMapPatch"), ...Array(4 + 4 + 5).fill("DeploymentPatch")]);
        // The ConfigMap's text (it may hold a password) is in the checkpoint only as ciphertext.
        const checkpoint = fs.readFileSync(checkpointPath(PROJECT, STACK), "utf8");
        assert.ok(!checkpoint.includes(JSON.stringify(start.config).slice(1, -1)), "the ConfigMap's text is not in the state in clear");
        assert.ok(!checkpoint.includes(Buffer.from(start.config).toString("base64")), "nor base64-encoded");
        /** Held, as ciphertext (the whole value, or its keys' values). */
        const ciphertext = (v: unknown) => JSON.stringify(v ?? null).includes('"ciphertext":');
        for (const r of JSON.parse(checkpoint).checkpoint.latest.resources as { type: string; urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[]) {
            if (r.type === "kubernetes:core/v1:ConfigMapPatch") assert.ok(ciphertext(r.inputs?.data) && ciphertext(r.outputs?.data), `${r.urn}: data is ciphertext`);
            if (r.urn.endsWith("-redis-persistence-off")) assert.ok(ciphertext(r.outputs?.stdout), `${r.urn}: stdout is ciphertext`);
        }
        const worker = JSON.parse(await k.must(["get", "deployment", "backend-worker", "-o", "json"]));
        assert.match(worker.spec.template.metadata.annotations["middleware.pulumi.com/restore-phase"], /^restored \d{4}-/);
        assert.ok(journalLines().some((l) => l.endsWith("\trestored-ready\tforward\tok")), "the last check waited for the consumers and dependants");
    });

    it("a second `up` runs nothing", async function () {
        const lines = journalLines().length;
        const r = await timed("second up", () => stack.up());
        const changes = r.summary.resourceChanges ?? {};
        assert.deepEqual(Object.keys(changes).filter((op) => op !== "same"), [], JSON.stringify(changes));
        assert.equal(journalLines().length, lines, "no script ran");
    });

    /** The site as before the restore: data, files, ConfigMap text, rows, counts and annotations. */
    async function assertAsAtStart(): Promise<void> {
        const now = await siteState();
        assert.equal(now.config, start.config);
        assert.deepEqual(now.digests, start.digests);
        for (const d of REDIS) {
            // dump.rdb is compared by data (the digest): Redis rewrites it by itself (a shutdown SAVE,
            // and replaying a FLUSHALL from the AOF at start saves too), so its bytes change.
            assert.deepEqual(Object.keys(now.files[d]), Object.keys(start.files[d]), `${d}: the same files, no -old left`);
            assert.equal(now.files[d]["appendonly.aof"], start.files[d]["appendonly.aof"], `${d}: the AOF, which Redis loads, byte for byte`);
        }
        assert.deepEqual(now.rows, start.rows);
        assert.deepEqual(now.replicas, start.replicas);
        assert.deepEqual(now.annotations, start.annotations, "the objects' annotations as before (the Patches' pulumi.com/patchForce removed)");
    }

    it("`destroy` brings back the pre-restore data files, ConfigMap text, zync rows and replica counts", async function () {
        await timed("destroy (rollback)", () => stack.destroy());
        await assertAsAtStart();
        for (const d of REDIS) assert.ok(restored.files[d]["dump.rdb-old"]);
        const journal = journalLines().map((l) => l.split("\t").slice(2).join(" "));
        assert.deepEqual(journal.filter((l) => l.endsWith("inverse ok")).slice(-10), [
            "rollout-dependants inverse ok", "zync-scale-up inverse ok", "zync-load-dump inverse ok", "zync-scale-down inverse ok",
            "redis-persistence-on inverse ok", "system-redis-rewrite-aof inverse ok", "backend-redis-rewrite-aof inverse ok",
            "system-redis-swap-data inverse ok", "backend-redis-swap-data inverse ok", "redis-persistence-off inverse ok",
        ]);
    });

    it("`destroy` straight from an `up` that failed in phase 4's rollouts (data swapped, AOFs rewritten) brings the site back", async function () {
        const error = await upTainted("up again, the node tainted before phase 4's rollouts (fails)", "system-redis-swap-data");
        assert.ok(error, "up succeeded although no pod could be scheduled");
        assertRolloutNeverReady(error, "persistence-on", "redis-persistence-on-live");
        assert.ok((await stepsAndPatchesInState()).includes("backend-redis-swap-data"), "the failed up had swapped the data");
        await timed("destroy from the failed up", () => stack.destroy());
        await assertAsAtStart();
    });
});
