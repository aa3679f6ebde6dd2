/**
 * Arguments of the 3scale restore (Redis and zync's database on Kubernetes), their defaults
 * and validation: every problem in one error, naming `args.<key>` and the bad value.
 *
 * @module
 */
import { checkAbsolutePath, checkName, checkSeconds, MUST_BE_STRING, Problems, Validator } from "../core/validate";

/** The Redis Deployments of 3scale the runbook restores. */
export const THREESCALE_REDIS = ["backend-redis", "system-redis"] as const;
/** One of {@link THREESCALE_REDIS}. */
export type ThreescaleRedis = (typeof THREESCALE_REDIS)[number];

/** Deployments the runbook rolls out once the data is back (they reconnect and resync). */
export const DEFAULT_DEPENDANTS = ["backend-listener", "backend-worker", "backend-cron", "system-app", "system-sidekiq"] as const;

/** What the restore of the Redis databases needs. */
export interface RedisRestoreArgs {
    /**
     * Which Redis to restore, each with its backup `dump.rdb` on the machine running Pulumi.
     * `backend-redis` holds backend's data (usage, limits) and its job queue; `system-redis` holds
     * system's Sidekiq job queues. **Restoring a job-queue database can run jobs twice** (jobs
     * done since the backup are queued again): where the queues live in an instance of their own,
     * prefer not restoring it, i.e. list `backend-redis` only. There is no default: the operator
     * chooses.
     */
    readonly restore: Partial<Record<ThreescaleRedis, string>>;
    /**
     * The Redis Deployments that mount the ConfigMap: every one is rolled out by each config
     * phase, and its AOF rewritten before `appendonly yes` comes back, whether or not it is
     * restored (3scale's templates share one `redis-config` between both Redis).
     * @default - `["backend-redis", "system-redis"]`
     */
    readonly configUsers?: readonly string[];
    /** The ConfigMap holding `redis.conf`. @default - `redis-config` */
    readonly configMap?: string;
    /** Its key holding the config file. @default - `redis.conf` */
    readonly configKey?: string;
    /** Redis's data directory in its pod (`dir` of redis.conf). @default - `/var/lib/redis/data` */
    readonly dataDir?: string;
}

/** What the restore of zync's PostgreSQL database needs. */
export interface ZyncRestoreArgs {
    /** The gzipped SQL dump (`pg_dump --clean`) on the machine running Pulumi. */
    readonly backup: string;
    /** Deployments scaled to 0 while the dump loads, then back to their counts. @default - `["zync", "zync-que"]` */
    readonly consumers?: readonly string[];
    /** The Deployment of the database's pod. @default - `zync-database` */
    readonly databaseDeployment?: string;
    /** @default - `zync_production` */
    readonly database?: string;
    /** The role `psql` and `pg_dump` connect as. @default - `zync` */
    readonly user?: string;
    /**
     * `psql -h` in the pod: a socket folder or a host.
     * @default - psql's own default (the image's socket folder)
     */
    readonly host?: string;
}

/** Arguments of {@link ThreescaleRestore}. */
export interface ThreescaleRestoreArgs {
    /** The kubeconfig file, on the machine running Pulumi. */
    readonly kubeconfig: string;
    /** The kubectl binary (absolute path). @default - `kubectl` on the PATH */
    readonly kubectl?: string;
    /** Name of the cluster in step names and messages. @default - `cluster` */
    readonly cluster?: string;
    /** The namespace 3scale runs in. @default - `3scale` */
    readonly namespace?: string;
    /** The Redis restore; left out, no Redis is touched. */
    readonly redis?: RedisRestoreArgs;
    /** The zync restore; left out, zync is not touched. */
    readonly zync?: ZyncRestoreArgs;
    /** Rolled out after the restore. @default - {@link DEFAULT_DEPENDANTS} */
    readonly dependants?: readonly string[];
    /**
     * How long one rollout may take to become ready before its step or Patch fails.
     * @default - 300 seconds
     */
    readonly rolloutTimeoutSeconds?: number;
    /**
     * Local folder of the steps' journal and of what they remember (the ConfigMap's text,
     * replica counts, the pre-restore files and dump): `destroy` needs it.
     * @default - `~/.local/state/pulumi-middleware` (`DEFAULT_LOCAL_STATE_DIR`)
     */
    readonly stateDir?: string;
}

/** {@link ThreescaleRestoreArgs} with every default filled in. */
export interface ResolvedThreescaleRestore {
    readonly kubeconfig: string;
    readonly kubectl: string;
    readonly cluster: string;
    readonly namespace: string;
    readonly redis?: {
        readonly restore: readonly { readonly deployment: ThreescaleRedis; readonly backup: string }[];
        readonly configUsers: readonly string[];
        readonly configMap: string;
        readonly configKey: string;
        readonly dataDir: string;
    };
    readonly zync?: Required<Omit<ZyncRestoreArgs, "host">> & { readonly host?: string };
    readonly dependants: readonly string[];
    readonly rolloutTimeoutSeconds: number;
    readonly stateDir?: string;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const PG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A Kubernetes object name (DNS-1123 label): lower-case letters, digits and `-`, at most 63. */
export const checkKubernetesName: Validator = (v) =>
    typeof v !== "string" ? [MUST_BE_STRING] : K8S_NAME.test(v) ? [] : ["must be a Kubernetes name (a-z, 0-9, '-' inside, at most 63 characters)"];

const checkConfigKey: Validator = (v) =>
    typeof v !== "string" ? [MUST_BE_STRING] : CONFIG_KEY.test(v) ? [] : ["must be a ConfigMap key (letters, digits, '-', '_', '.')"];

const checkPgName: Validator = (v) =>
    typeof v !== "string" ? [MUST_BE_STRING] : PG_NAME.test(v) ? [] : ["must be a lower-case PostgreSQL name (a-z, 0-9, '_')"];

function checkNames(p: Problems, key: string, list: unknown, nonEmpty: boolean): void {
    if (!Array.isArray(list)) { p.add(key, "must be a list of Deployment names", list); return; }
    if (nonEmpty && list.length === 0) p.add(key, "must name at least one Deployment", list);
    list.forEach((n, i) => p.check(`${key}[${i}]`, n, checkKubernetesName));
    const dup = list.find((n, i) => list.indexOf(n) !== i);
    if (dup !== undefined) p.add(key, "must not name a Deployment twice", dup);
}

/**
 * Validates `args` and fills in the defaults.
 *
 * @throws ConfigError naming every invalid argument (`args.<key>`) and its value
 */
export function resolveThreescaleRestore(name: string, args: ThreescaleRestoreArgs): ResolvedThreescaleRestore {
    const p = new Problems();
    p.check("name", name, checkName);
    p.check("args.kubeconfig", args.kubeconfig, checkAbsolutePath);
    p.checkOptional("args.kubectl", args.kubectl, checkAbsolutePath);
    p.checkOptional("args.cluster", args.cluster, checkName);
    p.checkOptional("args.namespace", args.namespace, checkKubernetesName);
    p.checkOptional("args.rolloutTimeoutSeconds", args.rolloutTimeoutSeconds, checkSeconds(1));
    p.checkOptional("args.stateDir", args.stateDir, checkAbsolutePath);
    if (args.dependants !== undefined) checkNames(p, "args.dependants", args.dependants, false);
    if (!args.redis && !args.zync) p.add("args", "must restore something: give args.redis, args.zync or both", args);

    let redis: ResolvedThreescaleRestore["redis"];
    if (args.redis) {
        const r = args.redis;
        const configUsers = r.configUsers ?? [...THREESCALE_REDIS];
        checkNames(p, "args.redis.configUsers", configUsers, true);
        p.checkOptional("args.redis.configMap", r.configMap, checkKubernetesName);
        p.checkOptional("args.redis.configKey", r.configKey, checkConfigKey);
        p.checkOptional("args.redis.dataDir", r.dataDir, checkAbsolutePath);
        const restore: { deployment: ThreescaleRedis; backup: string }[] = [];
        if (typeof r.restore !== "object" || r.restore === null || Object.keys(r.restore).length === 0) {
            p.add("args.redis.restore", `must name the Redis to restore (${THREESCALE_REDIS.join(", ")}) with their backup files`, r.restore);
        } else {
            for (const [d, backup] of Object.entries(r.restore)) {
                if (!(THREESCALE_REDIS as readonly string[]).includes(d)) {
                    p.add(`args.redis.restore`, `must name only ${THREESCALE_REDIS.join(" or ")}`, d);
                    continue;
                }
                p.check(`args.redis.restore.${d}`, backup, checkAbsolutePath);
                if (Array.isArray(configUsers) && !configUsers.includes(d)) p.add("args.redis.configUsers", `must include ${d}, which is restored`, configUsers);
                restore.push({ deployment: d as ThreescaleRedis, backup: backup as string });
            }
        }
        redis = {
            restore,
            configUsers,
            configMap: r.configMap ?? "redis-config",
            configKey: r.configKey ?? "redis.conf",
            dataDir: r.dataDir ?? "/var/lib/redis/data",
        };
    }

    let zync: ResolvedThreescaleRestore["zync"];
    if (args.zync) {
        const z = args.zync;
        p.check("args.zync.backup", z.backup, checkAbsolutePath);
        const consumers = z.consumers ?? ["zync", "zync-que"];
        checkNames(p, "args.zync.consumers", consumers, true);
        p.checkOptional("args.zync.databaseDeployment", z.databaseDeployment, checkKubernetesName);
        p.checkOptional("args.zync.database", z.database, checkPgName);
        p.checkOptional("args.zync.user", z.user, checkPgName);
        p.checkOptional("args.zync.host", z.host, (v) => (typeof v === "string" && /^[A-Za-z0-9._/-]{1,253}$/.test(v) ? [] : ["must be a socket folder or a host name"]));
        zync = {
            backup: z.backup,
            consumers,
            databaseDeployment: z.databaseDeployment ?? "zync-database",
            database: z.database ?? "zync_production",
            user: z.user ?? "zync",
            host: z.host,
        };
    }
    p.throwIfAny(name);
    return {
        kubeconfig: args.kubeconfig,
        kubectl: args.kubectl ?? "kubectl",
        cluster: args.cluster ?? "cluster",
        namespace: args.namespace ?? "3scale",
        redis,
        zync,
        dependants: args.dependants ?? [...DEFAULT_DEPENDANTS],
        rolloutTimeoutSeconds: args.rolloutTimeoutSeconds ?? 300,
        stateDir: args.stateDir,
    };
}
