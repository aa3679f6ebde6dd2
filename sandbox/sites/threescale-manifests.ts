/*
 * The objects of a 3scale 2.15 installation that the restore runbook touches, as plain
 * Kubernetes objects: the two Redis Deployments with the shared `redis-config` ConfigMap and
 * their data on PersistentVolumes (Recreate, as on OpenShift), zync's PostgreSQL database, zync
 * and zync-que, and the dependants the runbook rolls out at the end.
 */

/** The images the site's pods run (built by kubernetes-images.ts, imported with ctr). */
export const THREESCALE_IMAGES = {
    /** busybox and tini: the pods' sandbox (pause) and the stand-ins for 3scale's Ruby services. */
    base: "sandbox.local/base:1",
    redis: "sandbox.local/redis:6.2.11",
    postgresql: "sandbox.local/postgresql:15",
} as const;

/** The namespace 3scale is installed in. */
export const THREESCALE_NAMESPACE = "3scale";

/** The two Redis Deployments the runbook restores. */
export const REDIS_DEPLOYMENTS = ["backend-redis", "system-redis"] as const;
export type RedisDeployment = (typeof REDIS_DEPLOYMENTS)[number];

/** zync's Deployments and the replica counts the site starts them with (not 1, so a restore must remember them). */
export const ZYNC_REPLICAS = { zync: 2, "zync-que": 1 } as const;

/** Deployments the runbook rolls out after the restore. */
export const DEPENDANTS = ["backend-listener", "backend-worker", "backend-cron", "system-app", "system-sidekiq"] as const;

/** Where Redis keeps its files in its pod (the PersistentVolume), and its config file. */
export const REDIS_DATA_DIR = "/var/lib/redis/data";
export const REDIS_CONFIG_FILE = "/etc/redis.d/redis.conf";
/** zync's database: the PostgreSQL data dir on its volume, the database and its owner. */
export const ZYNC_DATA_DIR = "/var/lib/pgsql/data";
export const ZYNC_DATABASE = "zync_production";
export const ZYNC_USER = "zync";

/**
 * `redis.conf` of the `redis-config` ConfigMap, as 3scale ships it: RDB snapshots (`save`
 * lines) and the append-only file both on.
 */
export const REDIS_CONF = `protected-mode no
port 6379
timeout 0
tcp-keepalive 300
daemonize no
supervised no
loglevel notice
databases 16
save 900 1
save 300 10
save 60 10000
stop-writes-on-bgsave-error yes
rdbcompression yes
rdbchecksum yes
dbfilename dump.rdb
dir ${REDIS_DATA_DIR}
appendonly yes
appendfilename "appendonly.aof"
appendfsync everysec
no-appendfsync-on-rewrite no
auto-aof-rewrite-percentage 100
auto-aof-rewrite-min-size 64mb
`;

type Obj = Record<string, unknown>;

const meta = (name: string, extra: Obj = {}) => ({ name, namespace: THREESCALE_NAMESPACE, labels: { app: "3scale-api-management", deployment: name }, ...extra });

function deployment(name: string, replicas: number, pod: Obj): Obj {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: meta(name),
        spec: {
            replicas,
            selector: { matchLabels: { deployment: name } },
            strategy: { type: "Recreate" },
            template: {
                metadata: { labels: { app: "3scale-api-management", deployment: name } },
                spec: { automountServiceAccountToken: false, enableServiceLinks: false, terminationGracePeriodSeconds: 5, ...pod },
            },
        },
    };
}

/** A PersistentVolume on a host path of the node and the claim bound to it. */
function volume(name: string, hostPath: string): Obj[] {
    return [
        {
            apiVersion: "v1",
            kind: "PersistentVolume",
            metadata: { name: `${THREESCALE_NAMESPACE}-${name}`, labels: { app: "3scale-api-management" } },
            spec: {
                capacity: { storage: "1Gi" },
                accessModes: ["ReadWriteOnce"],
                persistentVolumeReclaimPolicy: "Retain",
                storageClassName: "",
                hostPath: { path: hostPath, type: "Directory" },
                claimRef: { namespace: THREESCALE_NAMESPACE, name },
            },
        },
        {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: meta(name),
            spec: { accessModes: ["ReadWriteOnce"], storageClassName: "", volumeName: `${THREESCALE_NAMESPACE}-${name}`, resources: { requests: { storage: "1Gi" } } },
        },
    ];
}

function redis(name: RedisDeployment): Obj {
    return deployment(name, 1, {
        containers: [{
            name,
            image: THREESCALE_IMAGES.redis,
            imagePullPolicy: "Never",
            command: ["/sbin/tini", "--", "/usr/bin/redis-server", REDIS_CONFIG_FILE, "--daemonize", "no"],
            ports: [{ containerPort: 6379, name: "redis" }],
            readinessProbe: { exec: { command: ["/usr/bin/redis-cli", "-h", "127.0.0.1", "ping"] }, periodSeconds: 2, timeoutSeconds: 5 },
            volumeMounts: [
                { name: "redis-storage", mountPath: REDIS_DATA_DIR },
                { name: "redis-config", mountPath: "/etc/redis.d/" },
            ],
        }],
        volumes: [
            { name: "redis-storage", persistentVolumeClaim: { claimName: `${name}-storage` } },
            { name: "redis-config", configMap: { name: "redis-config", items: [{ key: "redis.conf", path: "redis.conf" }] } },
        ],
    });
}

/** PostgreSQL 15 as zync's database: creates its cluster on first start, trusts the pod network. */
const ZYNC_DATABASE_START = `set -e
export PGDATA=${ZYNC_DATA_DIR}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb -D "$PGDATA" -U postgres --auth=trust --locale=C -E UTF8 >/dev/null
    echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp -c jit=off`;

function app(name: string, replicas: number): Obj {
    return deployment(name, replicas, {
        containers: [{
            name,
            image: THREESCALE_IMAGES.base,
            imagePullPolicy: "Never",
            command: ["/sbin/tini", "--", "sh", "-c", `echo "${name} started"; exec sleep 2147483647`],
        }],
    });
}

/**
 * Every object of the site, in the order `kubectl apply` should create them. `hostPaths` are
 * the node's folders behind each PersistentVolume.
 */
export function threescaleObjects(hostPaths: { readonly [claim: string]: string }): Obj[] {
    const path = (claim: string) => {
        const p = hostPaths[claim];
        if (!p) throw new Error(`no host path for the volume ${claim}`);
        return p;
    };
    return [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: THREESCALE_NAMESPACE } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: meta("redis-config"), data: { "redis.conf": REDIS_CONF } },
        ...volume("backend-redis-storage", path("backend-redis-storage")),
        ...volume("system-redis-storage", path("system-redis-storage")),
        ...volume("zync-database-data", path("zync-database-data")),
        ...REDIS_DEPLOYMENTS.map(redis),
        deployment("zync-database", 1, {
            securityContext: { runAsUser: 26, runAsGroup: 26 },
            containers: [{
                name: "postgresql",
                image: THREESCALE_IMAGES.postgresql,
                imagePullPolicy: "Never",
                command: ["/sbin/tini", "--", "sh", "-c", ZYNC_DATABASE_START],
                env: [{ name: "PATH", value: "/usr/lib/postgresql/15/bin:/bin:/sbin" }, { name: "TZ", value: "UTC" }],
                ports: [{ containerPort: 5432, name: "postgresql" }],
                readinessProbe: { exec: { command: ["/usr/lib/postgresql/15/bin/pg_isready", "-h", "/tmp"] }, periodSeconds: 2, timeoutSeconds: 5 },
                volumeMounts: [{ name: "zync-database-data", mountPath: "/var/lib/pgsql" }],
            }],
            volumes: [{ name: "zync-database-data", persistentVolumeClaim: { claimName: "zync-database-data" } }],
        }),
        ...Object.entries(ZYNC_REPLICAS).map(([name, n]) => app(name, n)),
        ...DEPENDANTS.map((name) => app(name, 1)),
    ];
}
