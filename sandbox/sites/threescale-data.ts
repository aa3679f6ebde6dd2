import * as fs from "fs";
import * as path from "path";
import { progress } from "../progress";
import { Kubectl } from "./kubectl";
import { datasetStream } from "./redis-dataset";
import { REDIS_DATA_DIR, RedisDeployment, ZYNC_DATABASE, ZYNC_USER } from "./threescale-manifests";

/*
 * The 3scale site's data: each Redis and zync's database first hold the data set of the
 * backup, which is saved as the backup artefacts (an RDB per Redis, a gzipped SQL dump of zync),
 * and then a different, later data set: the state a restore replaces and `destroy` brings back.
 */

/** Digests and sizes of one Redis's two data sets. */
export interface RedisData {
    /** The backup's RDB on the machine running Pulumi. */
    readonly backupFile: string;
    /** `DEBUG DIGEST` of the backup's data set, and its number of keys. */
    readonly backupDigest: string;
    readonly backupKeys: number;
    /** `DEBUG DIGEST` and number of keys of what the Redis holds after the backup was taken. */
    readonly currentDigest: string;
    readonly currentKeys: number;
}

/** Row counts of zync's tables in the backup and after it. */
export interface ZyncData {
    /** The gzipped `pg_dump --clean --if-exists` of zync's database on the machine running Pulumi. */
    readonly backupFile: string;
    readonly backupRows: Record<string, number>;
    readonly currentRows: Record<string, number>;
}

async function redisCli(k: Kubectl, deployment: string, args: string): Promise<string> {
    return (await k.exec(deployment, `redis-cli -h 127.0.0.1 ${args}`)).trim();
}

async function loadRedis(k: Kubectl, deployment: string, keys: number, seed: number): Promise<void> {
    const pod = await k.readyPod(deployment);
    const r = await k.run(["exec", "-i", pod, "--", "redis-cli", "-h", "127.0.0.1", "--pipe"], { input: datasetStream(keys, seed) });
    const m = /errors: (\d+), replies: (\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m || m[1] !== "0") throw new Error(`${deployment}: loading the data set failed: ${(r.stdout + r.stderr).trim().slice(-500)}`);
}

/**
 * Seeds one Redis: the backup's data set (`keys` keys from `seed`), saved and its RDB copied
 * from the volume (`volumeDir`, the node's folder behind the pod's data dir) to `backupFile`;
 * then a different data set (half as many keys from `seed + 1`), saved again.
 */
export async function seedRedis(
    k: Kubectl, deployment: RedisDeployment, volumeDir: string, backupFile: string, keys: number, seed: number,
): Promise<RedisData> {
    progress(`${deployment}: loading the backup's data set (${keys} keys, seed ${seed})`);
    await redisCli(k, deployment, "FLUSHALL");
    await loadRedis(k, deployment, keys, seed);
    const backupDigest = await redisCli(k, deployment, "DEBUG DIGEST");
    const backupKeys = Number(await redisCli(k, deployment, "DBSIZE"));
    await redisCli(k, deployment, "SAVE");
    fs.mkdirSync(path.dirname(backupFile), { recursive: true });
    fs.copyFileSync(path.join(volumeDir, "dump.rdb"), backupFile);
    progress(`${deployment}: backup ${backupFile} taken (${backupKeys} keys); loading a later data set`);
    await redisCli(k, deployment, "FLUSHALL");
    await loadRedis(k, deployment, Math.max(1, Math.floor(keys / 2)), seed + 1);
    const currentDigest = await redisCli(k, deployment, "DEBUG DIGEST");
    const currentKeys = Number(await redisCli(k, deployment, "DBSIZE"));
    await redisCli(k, deployment, "SAVE");
    if (!(backupKeys > 0 && currentKeys > 0) || backupDigest === currentDigest) {
        throw new Error(`${deployment}: the data sets did not load (backup ${backupKeys} keys, later ${currentKeys} keys)`);
    }
    return { backupFile, backupDigest, backupKeys, currentDigest, currentKeys };
}

/** zync's tables (a small stand-in for its schema, with que's job table). */
export const ZYNC_TABLES = ["tenants", "models", "notifications", "que_jobs"] as const;

function psql(k: Kubectl, sql: string, db = ZYNC_DATABASE, user = ZYNC_USER): Promise<string> {
    return k.exec("zync-database", `psql -h /tmp -U ${user} -d ${db} -v ON_ERROR_STOP=1 -qAt`, { input: sql });
}

/** Row counts of {@link ZYNC_TABLES} in zync's database. */
export async function zyncRows(k: Kubectl): Promise<Record<string, number>> {
    const out = await psql(k, ZYNC_TABLES.map((t) => `SELECT '${t}', count(*) FROM ${t};`).join("\n"));
    const rows: Record<string, number> = {};
    for (const line of out.trim().split("\n")) {
        const [t, n] = line.split("|");
        rows[t] = Number(n);
    }
    return rows;
}

/**
 * Seeds zync's database: its owner and tables, `rows` tenants with their models and
 * notifications and a few queued jobs; dumps it gzipped into the volume (`volumeDir`) and moves
 * the dump to `backupFile`; then changes it as later use would (new tenants, jobs done).
 */
export async function seedZync(k: Kubectl, volumeDir: string, backupFile: string, rows: number): Promise<ZyncData> {
    progress(`zync-database: loading the backup's data set (${rows} tenants)`);
    await psql(k, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ZYNC_USER}') THEN CREATE ROLE ${ZYNC_USER} LOGIN; END IF; END $$;`, "postgres", "postgres");
    const exists = (await psql(k, `SELECT 1 FROM pg_database WHERE datname = '${ZYNC_DATABASE}';`, "postgres", "postgres")).trim();
    if (exists !== "1") await psql(k, `CREATE DATABASE ${ZYNC_DATABASE} OWNER ${ZYNC_USER};`, "postgres", "postgres");
    await psql(k, `
DROP TABLE IF EXISTS notifications, models, tenants, que_jobs;
CREATE TABLE tenants (id bigint PRIMARY KEY, endpoint text NOT NULL, access_token text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE models (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants, record_type text NOT NULL, record_id bigint NOT NULL);
CREATE TABLE notifications (id bigserial PRIMARY KEY, model_id bigint NOT NULL REFERENCES models, tenant_id bigint NOT NULL REFERENCES tenants, data jsonb NOT NULL);
CREATE TABLE que_jobs (id bigserial PRIMARY KEY, queue text NOT NULL DEFAULT '', job_class text NOT NULL, args jsonb NOT NULL DEFAULT '[]', run_at timestamptz NOT NULL DEFAULT now());
INSERT INTO tenants (id, endpoint, access_token) SELECT i, 'https://tenant-' || i || '-admin.example.com', md5('token' || i) FROM generate_series(1, ${rows}) i;
INSERT INTO models (tenant_id, record_type, record_id) SELECT t, (ARRAY['Application','Service','Proxy'])[1 + j % 3], t * 10 + j FROM generate_series(1, ${rows}) t, generate_series(1, 5) j;
INSERT INTO notifications (model_id, tenant_id, data) SELECT id, tenant_id, jsonb_build_object('record', record_type, 'id', record_id) FROM models;
INSERT INTO que_jobs (job_class, args) SELECT 'ProcessEntryJob', jsonb_build_array(i) FROM generate_series(1, 20) i;
`);
    const backupRows = await zyncRows(k);
    await k.exec("zync-database", `pg_dump -h /tmp -U ${ZYNC_USER} --clean --if-exists ${ZYNC_DATABASE} | gzip >/var/lib/pgsql/zync-backup.sql.gz`);
    fs.mkdirSync(path.dirname(backupFile), { recursive: true });
    fs.copyFileSync(path.join(volumeDir, "zync-backup.sql.gz"), backupFile);
    fs.rmSync(path.join(volumeDir, "zync-backup.sql.gz"));
    progress(`zync-database: backup ${backupFile} taken; changing the data as later use would`);
    await psql(k, `
INSERT INTO tenants (id, endpoint, access_token) SELECT i, 'https://tenant-' || i || '-admin.example.com', md5('token' || i) FROM generate_series(${rows + 1}, ${rows + Math.ceil(rows / 4)}) i;
DELETE FROM que_jobs WHERE id % 2 = 0;
INSERT INTO que_jobs (job_class, args) SELECT 'DeleteJob', jsonb_build_array(i) FROM generate_series(1, 7) i;
`);
    const currentRows = await zyncRows(k);
    return { backupFile, backupRows, currentRows };
}

/** Where Redis's files are in its pod, for whoever reads the facts. */
export const REDIS_FILES = { dir: REDIS_DATA_DIR, rdb: `${REDIS_DATA_DIR}/dump.rdb`, aof: `${REDIS_DATA_DIR}/appendonly.aof` } as const;
