import * as fs from "fs";
import * as path from "path";
import { hostAddress, hostPaths, SandboxSettings, statePaths } from "../config";
import { hostFileOnRoot } from "../host-fs";
import { progress } from "../progress";
import { Kubectl } from "./kubectl";
import { kubernetesBinDir, KUBERNETES_VERSION, missingKubernetesPrerequisites } from "./kubernetes-build";
import { rememberHostBeforeKubelet, restoreHostAfterKubelet, routePods, unroutePods } from "./kubernetes-host";
import { buildImage, ImageSpec, POSTGRES_UID } from "./kubernetes-images";
import { cniConfig, containerdConfig, initScript, kubeletConfig, machineCgroupMounts, NODE_PATHS, NodeSettings } from "./kubernetes-node";
import { ensurePki, kubeconfig } from "./kubernetes-pki";
import { redisBinDir } from "./redis-versions";
import { Site, SiteContext } from "./site";
import { putOnHost } from "./site-files";
import { RedisData, seedRedis, seedZync, ZyncData } from "./threescale-data";
import { DEPENDANTS, REDIS_DEPLOYMENTS, THREESCALE_IMAGES, THREESCALE_NAMESPACE, threescaleObjects, ZYNC_REPLICAS } from "./threescale-manifests";

/** The site's name, as `up --site` takes it. */
export const THREESCALE_SITE = "3scale";
/** The host that runs the cluster. */
const NODE = "h1";
/** Default number of keys in each Redis backup. */
export const DEFAULT_REDIS_KEYS = 2000;
/** The node's folder behind each PersistentVolume (under its own /var/lib/middleware). */
const VOLUMES = {
    "backend-redis-storage": "/var/lib/middleware/3scale/backend-redis",
    "system-redis-storage": "/var/lib/middleware/3scale/system-redis",
    "zync-database-data": "/var/lib/middleware/3scale/zync-database",
} as const;

/** Redis 6.2.11 (3scale 2.15 runs Red Hat's Redis 6), as the sandbox's prerequisites publish it. */
const REDIS_IMAGE_BIN = redisBinDir("6.2.11");

/** The images of the site, from the machine's own files. */
const IMAGES: readonly ImageSpec[] = [
    { ref: THREESCALE_IMAGES.base, file: "base.tar", programs: [], trees: [] },
    { ref: THREESCALE_IMAGES.redis, file: "redis-6.2.11.tar", programs: [
        [`${REDIS_IMAGE_BIN}/redis-server`, "/usr/bin/redis-server"],
        [`${REDIS_IMAGE_BIN}/redis-cli`, "/usr/bin/redis-cli"],
    ], trees: [] },
    {
        ref: THREESCALE_IMAGES.postgresql,
        file: "postgresql-15.tar",
        programs: ["initdb", "postgres", "pg_ctl", "psql", "pg_dump", "pg_isready"].map((p) => `/usr/lib/postgresql/15/bin/${p}`),
        trees: ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/15/lib", "/usr/share/postgresql/15", "/usr/share/zoneinfo"],
        exclude: ["/usr/lib/postgresql/15/lib/bitcode", "/usr/lib/postgresql/15/lib/llvmjit.so", "/usr/lib/postgresql/15/lib/llvmjit_types.bc"],
    },
];

/** The node's settings in sandbox `s`. */
export function nodeSettings(s: SandboxSettings): NodeSettings {
    return {
        name: NODE,
        address: hostAddress(s, NODE),
        podRange: podRange(s),
        binDir: kubernetesBinDir(),
        sandboxImage: THREESCALE_IMAGES.base,
        cgroupMounts: machineCgroupMounts(fs.readFileSync("/proc/self/mountinfo", "utf8")),
    };
}

/** The pods' /24: 10.244.X.0/24 with X the third octet of the sandbox's subnet, so two sandboxes do not collide. */
export function podRange(s: SandboxSettings): string {
    return `10.244.${s.prefix24.split(".")[2]}.0/24`;
}

/** Files of the site on the machine running Pulumi. */
export function threescaleFiles(s: SandboxSettings) {
    const dir = statePaths(s).siteDir;
    return {
        kubeconfig: path.join(dir, "kubeconfig"),
        images: path.join(dir, "images"),
        backups: path.join(dir, "backups"),
    };
}

/** Writes the cluster's files and the init script on the node, from the machine's side of its disk. */
export async function layOutNode(s: SandboxSettings, n: NodeSettings): Promise<void> {
    const onNode = (p: string) => hostFileOnRoot(s, NODE, p);
    await ensurePki(onNode(NODE_PATHS.pki), [n.address]);
    putOnHost(s, NODE, NODE_PATHS.kubeconfig, kubeconfig(onNode(NODE_PATHS.pki), "https://127.0.0.1:6443"), 0o600);
    putOnHost(s, NODE, NODE_PATHS.containerdConfig, containerdConfig(n), 0o644);
    putOnHost(s, NODE, NODE_PATHS.kubeletConfig, kubeletConfig(n), 0o644);
    putOnHost(s, NODE, path.join(NODE_PATHS.cniConfDir, "10-pods.conflist"), cniConfig(n), 0o644);
    putOnHost(s, NODE, NODE_PATHS.initScript, initScript(n), 0o755);
    for (const d of [NODE_PATHS.etcdData, NODE_PATHS.containerdRoot, NODE_PATHS.kubeletRoot, NODE_PATHS.cniDataDir, NODE_PATHS.logDir]) {
        fs.mkdirSync(onNode(d), { recursive: true, mode: 0o700 });
    }
    for (const d of Object.values(VOLUMES)) fs.mkdirSync(onNode(d), { recursive: true, mode: 0o755 });
    fs.chownSync(onNode(VOLUMES["zync-database-data"]), POSTGRES_UID, POSTGRES_UID);
    fs.writeFileSync(hostPaths(s, NODE).bootServices, "kubernetes\n");
    const files = threescaleFiles(s);
    fs.mkdirSync(path.dirname(files.kubeconfig), { recursive: true });
    fs.writeFileSync(files.kubeconfig, kubeconfig(onNode(NODE_PATHS.pki), `https://${n.address}:6443`), { mode: 0o600 });
}

async function importImages(ctx: SiteContext, dir: string): Promise<void> {
    fs.mkdirSync(dir, { recursive: true });
    const have = await ctx.exec(NODE, `ctr -a ${NODE_PATHS.containerdSocket} -n k8s.io images ls -q`);
    for (const spec of IMAGES) {
        if (have.stdout.split("\n").includes(spec.ref)) continue;
        const started = Date.now();
        const archive = await buildImage(spec, dir);
        const r = await ctx.exec(NODE, `ctr -a ${NODE_PATHS.containerdSocket} -n k8s.io images import ${archive}`);
        if (r.code !== 0) throw new Error(`${NODE}: ctr images import ${archive} failed: ${(r.stderr || r.stdout).trim()}`);
        progress(`image ${spec.ref} built and imported in ${((Date.now() - started) / 1000).toFixed(1)}s (${(fs.statSync(archive).size / 1e6).toFixed(0)} MB)`);
    }
}

/** Applies the site's objects and waits for every Deployment to roll out. */
async function applyObjects(k: Kubectl): Promise<void> {
    const objects = threescaleObjects(VOLUMES);
    await k.must(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
    const deployments = [...REDIS_DEPLOYMENTS, "zync-database", ...Object.keys(ZYNC_REPLICAS), ...DEPENDANTS];
    for (const d of deployments) await k.must(["rollout", "status", `deployment/${d}`, "--timeout=300s"]);
    progress(`namespace ${THREESCALE_NAMESPACE}: ${deployments.length} Deployments rolled out`);
}

/** Facts the site keeps in the sandbox record. */
export interface ThreescaleFacts {
    readonly kubernetesVersion: string;
    readonly node: string;
    readonly apiServer: string;
    readonly kubeconfig: string;
    readonly kubectl: string;
    readonly namespace: string;
    readonly podRange: string;
    /** The node's folder behind each PersistentVolume claim, on the node, and from the machine. */
    readonly volumes: Record<string, { readonly onNode: string; readonly onMachine: string }>;
    readonly redis: Record<string, RedisData>;
    readonly zync: ZyncData;
    readonly zyncReplicas: Record<string, number>;
    readonly dependants: readonly string[];
    readonly datasetKeys: number;
    readonly datasetSeed: number;
}

/**
 * A 3scale 2.15 installation on a one-node Kubernetes cluster running on h1: etcd, the API
 * server, controller-manager, scheduler, containerd and the kubelet, with real pods; the
 * namespace with both Redis Deployments, zync's database, zync, zync-que and the dependants;
 * backup artefacts on the machine running Pulumi. See sandbox/README.md.
 */
export const threescale: Site = {
    name: THREESCALE_SITE,
    minHosts: 1,
    async layOut(ctx, previous) {
        const s = ctx.settings;
        const missing = await missingKubernetesPrerequisites();
        if (missing.length) throw new Error(`site ${THREESCALE_SITE} needs ${missing.join("; ")}: run \`npm run sandbox -- prerequisites --kubernetes\` first`);
        const n = nodeSettings(s);
        const files = threescaleFiles(s);
        rememberHostBeforeKubelet(statePaths(s).siteDir);
        await layOutNode(s, n);
        let started = Date.now();
        const r = await ctx.exec(NODE, "service kubernetes start", { timeoutMs: 300_000 });
        if (r.code !== 0) throw new Error(`${NODE}: service kubernetes start failed: ${(r.stderr || r.stdout).trim()}`);
        progress(`cluster on ${NODE} ready in ${((Date.now() - started) / 1000).toFixed(1)}s (Kubernetes ${KUBERNETES_VERSION}, API server https://${n.address}:6443)`);
        await routePods(n.podRange, n.address);
        started = Date.now();
        await importImages(ctx, files.images);
        // Laid out once: a later `up` must not undo what a restore under test changed.
        if (previous?.zync) return previous;
        const k = new Kubectl(files.kubeconfig, THREESCALE_NAMESPACE);
        await applyObjects(k);
        progress(`3scale objects applied and rolled out in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        const volumes = Object.fromEntries(Object.entries(VOLUMES).map(([claim, onNode]) => [claim, { onNode, onMachine: hostFileOnRoot(s, NODE, onNode) }]));
        const keys = ctx.dataset.keys ?? DEFAULT_REDIS_KEYS;
        const seed = ctx.dataset.seed ?? 1;
        const redis: Record<string, RedisData> = {};
        for (const [i, d] of REDIS_DEPLOYMENTS.entries()) {
            redis[d] = await seedRedis(k, d, volumes[`${d}-storage`].onMachine, path.join(files.backups, `${d}.rdb`), keys, seed + 10 * i);
        }
        const zync = await seedZync(k, volumes["zync-database-data"].onMachine, path.join(files.backups, "zync.sql.gz"), Math.max(10, Math.floor(keys / 10)));
        const facts: ThreescaleFacts = {
            kubernetesVersion: KUBERNETES_VERSION,
            node: NODE,
            apiServer: `https://${n.address}:6443`,
            kubeconfig: files.kubeconfig,
            kubectl: path.join(kubernetesBinDir(), "kubectl"),
            namespace: THREESCALE_NAMESPACE,
            podRange: n.podRange,
            volumes,
            redis,
            zync,
            zyncReplicas: { ...ZYNC_REPLICAS },
            dependants: DEPENDANTS,
            datasetKeys: keys,
            datasetSeed: seed,
        };
        return facts as unknown as Record<string, unknown>;
    },
    inventory(_ctx, facts) {
        return { threescale: facts as unknown as ThreescaleFacts };
    },
    async tearDown(s) {
        await unroutePods(podRange(s));
        for (const line of await restoreHostAfterKubelet(statePaths(s).siteDir)) progress(`kubelet's change undone: ${line}`);
    },
};
