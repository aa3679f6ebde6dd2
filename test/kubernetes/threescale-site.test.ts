import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { execFileSync } from "node:child_process";
import Redis from "ioredis";
import { Client } from "pg";
import * as sandbox from "../../sandbox";
import { settingsFromEnv } from "../../sandbox/config";
import { Kubectl } from "../../sandbox/sites/kubectl";
import { missingKubernetesPrerequisites, KUBERNETES_VERSION } from "../../sandbox/sites/kubernetes-build";
import { podRange, ThreescaleFacts } from "../../sandbox/sites/threescale";
import { ZYNC_DATABASE, ZYNC_USER } from "../../sandbox/sites/threescale-manifests";
import { zyncRows } from "../../sandbox/sites/threescale-data";
import { threescaleSiteIsUp, threescaleSiteUp } from "../support/threescale-site";

/*
 * The sandbox's 3scale site on its real one-node cluster: real pods that serve, `kubectl exec`
 * and `kubectl cp`, Redis data that survives a rollout on its volume, the backup artefacts, and
 * `down` giving the machine back what the kubelet changed.
 */

const KUBELET_SYSCTLS = ["vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops"];
const sysctls = () => Object.fromEntries(KUBELET_SYSCTLS.map((k) => [k, fs.readFileSync(`/proc/sys/${k}`, "utf8").trim()]));
/**
 * The machine's values before any cluster ran here, read when mocha loads this file, before any
 * test runs; unknown when a 3scale site was already up then.
 */
const sysctlsAtLoad = threescaleSiteIsUp() ? undefined : sysctls();

async function podIp(k: Kubectl, deployment: string): Promise<string> {
    const pod = await k.readyPod(deployment);
    return (await k.must(["get", "pod", pod, "-o", "jsonpath={.status.podIP}"])).trim();
}

describe("sandbox site 3scale on a real cluster", function () {
    this.timeout(900_000);
    let facts: ThreescaleFacts;
    let k: Kubectl;
    let sysctlsBefore: Record<string, string>;

    before(async function () {
        const missing = await missingKubernetesPrerequisites();
        if (missing.length) throw new Error(`missing: ${missing.join("; ")}; run npm run sandbox -- prerequisites --kubernetes`);
        sandbox.setQuiet(true);
        if (sysctlsAtLoad && threescaleSiteIsUp()) {
            // The restore's test (run before this file) left its site up: reuse it.
            sysctlsBefore = sysctlsAtLoad;
        } else {
            await sandbox.down();
            sysctlsBefore = sysctls();
        }
        const inv = await threescaleSiteUp();
        facts = inv.threescale!;
        k = new Kubectl(facts.kubeconfig, facts.namespace);
    });

    it("runs a Ready node of the built release and every Deployment at its count", async function () {
        const node = JSON.parse(await k.must(["get", "node", facts.node, "-o", "json"]));
        assert.equal(node.status.nodeInfo.kubeletVersion, `v${KUBERNETES_VERSION}`);
        assert.ok(node.status.conditions.some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True"));
        const deployments = JSON.parse(await k.must(["get", "deployments", "-o", "json"])).items as { metadata: { name: string }; spec: { replicas: number }; status: { availableReplicas?: number } }[];
        const counts = Object.fromEntries(deployments.map((d) => [d.metadata.name, d.status.availableReplicas ?? 0]));
        assert.equal(counts.zync, 2);
        assert.equal(counts["zync-que"], 1);
        for (const d of ["backend-redis", "system-redis", "zync-database", ...facts.dependants]) assert.equal(counts[d], 1, d);
    });

    it("serves each Redis on its pod IP with the later data set, save lines and appendonly yes, and keeps its data across a rollout", async function () {
        for (const name of ["backend-redis", "system-redis"]) {
            const data = facts.redis[name];
            assert.ok(fs.readFileSync(data.backupFile).subarray(0, 9).toString() === "REDIS0009", `${data.backupFile} is an RDB of Redis 6.2`);
            let redis = new Redis({ host: await podIp(k, name), port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
            try {
                await redis.connect();
                assert.equal(await redis.call("DEBUG", "DIGEST"), data.currentDigest);
                assert.deepEqual(await redis.config("GET", "save"), ["save", "900 1 300 10 60 10000"]);
                assert.deepEqual(await redis.config("GET", "appendonly"), ["appendonly", "yes"]);
            } finally {
                redis.disconnect();
            }
            await k.must(["rollout", "restart", `deployment/${name}`]);
            await k.must(["rollout", "status", `deployment/${name}`, "--timeout=300s"]);
            redis = new Redis({ host: await podIp(k, name), port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
            try {
                await redis.connect();
                assert.equal(await redis.call("DEBUG", "DIGEST"), data.currentDigest, `${name} lost data in the rollout`);
            } finally {
                redis.disconnect();
            }
        }
    });

    it("lets kubectl exec and kubectl cp reach the Redis pod's volume", async function () {
        const pod = await k.readyPod("backend-redis");
        const files = await k.must(["exec", pod, "--", "ls", "/var/lib/redis/data"]);
        assert.match(files, /dump\.rdb/);
        assert.match(files, /appendonly\.aof/);
        await k.must(["cp", facts.redis["backend-redis"].backupFile, `${pod}:/var/lib/redis/data/copied.rdb`]);
        assert.equal((await k.must(["exec", pod, "--", "sh", "-c", "wc -c </var/lib/redis/data/copied.rdb"])).trim(),
            String(fs.statSync(facts.redis["backend-redis"].backupFile).size));
        await k.must(["exec", pod, "--", "rm", "/var/lib/redis/data/copied.rdb"]);
    });

    it("holds zync's later rows in its database pod, and the gzipped dump of the backup's", async function () {
        const client = new Client({ host: await podIp(k, "zync-database"), port: 5432, user: ZYNC_USER, database: ZYNC_DATABASE });
        await client.connect();
        try {
            const r = await client.query("SELECT count(*)::int AS n FROM tenants");
            assert.equal(r.rows[0].n, facts.zync.currentRows.tenants);
        } finally {
            await client.end();
        }
        assert.deepEqual(await zyncRows(k), facts.zync.currentRows);
        assert.notDeepEqual(facts.zync.currentRows, facts.zync.backupRows);
        const dump = execFileSync("gzip", ["-dc", facts.zync.backupFile], { encoding: "utf8", maxBuffer: 64 << 20 });
        assert.match(dump, /CREATE TABLE public\.tenants/);
    });

    it("comes back with its data after h1 crashes and boots", async function () {
        await sandbox.fault(facts.node, "down");
        await sandbox.fault(facts.node, "up");
        const deadline = Date.now() + 180_000;
        let digest = "";
        while (Date.now() < deadline) {
            const r = await k.run(["exec", "deploy/backend-redis", "--", "redis-cli", "DEBUG", "DIGEST"]);
            const pods = JSON.parse(await k.must(["get", "pods", "-o", "json"])).items as { status: { conditions?: { type: string; status: string }[] } }[];
            const allReady = pods.every((p) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
            // Right after the boot, a pod can still show the Ready of before the crash, and Redis answers LOADING while it reads its files.
            if (r.code === 0 && allReady && /^[0-9a-f]{40}$/.test(r.stdout.trim())) {
                digest = r.stdout.trim();
                break;
            }
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        assert.equal(digest, facts.redis["backend-redis"].currentDigest, "backend-redis did not come back with its data within 180 s");
    });

    it("down removes the cluster and gives back what the kubelet changed on the machine", async function () {
        const s = settingsFromEnv();
        await sandbox.down();
        assert.deepEqual(sysctls(), sysctlsBefore);
        assert.equal(execFileSync("ip", ["route", "show", podRange(s)], { encoding: "utf8" }).trim(), "");
        for (const c of fs.readdirSync("/sys/fs/cgroup")) assert.ok(!fs.existsSync(`/sys/fs/cgroup/${c}/kubepods`), `${c}/kubepods left`);
        assert.ok(!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").some((l) => l.startsWith(process.env.SANDBOX_PREFIX ?? "sbx-")));
    });
});
