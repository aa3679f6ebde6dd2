/**
 * The sandbox's PostgreSQL site for the benchmark and the engine tests: a fresh legacy site (h1
 * primary with the seeded database, h2 and h3 empty), and a stack of the site program configured
 * like `stacks/Pulumi.sandbox-postgres.yaml`, pointed at the running sandbox.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { settingsFromEnv, statePaths } from "../sandbox/config";
import { localStack, projectRoot } from "./engine";

/** The committed sandbox config of the PostgreSQL site. */
export function postgresSandboxConfig(): Record<string, unknown> {
    const file = path.join(projectRoot, "stacks", "Pulumi.sandbox-postgres.yaml");
    return (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/** A stack `name` of the site program with the PostgreSQL pair of the running sandbox, `patch` applied to `middleware:postgres`. */
export async function postgresStack(name: string, patch: Record<string, unknown> = {}): Promise<Stack> {
    const stack = await localStack(projectRoot, name);
    const inventory = sandbox.inventory();
    if (!inventory.postgres || !inventory.vip) throw new Error("the sandbox has no PostgreSQL site: npm run sandbox -- up --hosts 3 --site legacy-postgres");
    const committed = postgresSandboxConfig();
    const pg = committed["middleware:postgres"] as Record<string, unknown>;
    // A site laid out on a server-only build: its binaries, and Debian's client tools.
    const build = inventory.postgres.server !== undefined && inventory.postgres.server !== "15.18"
        ? { binDir: inventory.postgres.binDir, clientBinDir: inventory.postgres.clientBinDir }
        : {};
    const config: Record<string, unknown> = {
        "middleware:inventoryFile": statePaths(settingsFromEnv()).inventoryFile,
        "middleware:postgres": { ...pg, ...build, vip: { ...(pg.vip as object), address: inventory.vip.address, prefix: inventory.vip.prefixLength }, ...patch },
    };
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }])));
    return stack;
}

/** Changes keys of `middleware:postgres` in a stack's config (`primary`, say), keeping the rest. */
export async function patchPostgresConfig(stack: Stack, patch: Record<string, unknown>): Promise<void> {
    const current = JSON.parse((await stack.getConfig("middleware:postgres")).value) as Record<string, unknown>;
    await stack.setConfig("middleware:postgres", { value: JSON.stringify({ ...current, ...patch }) });
}

/**
 * Takes the sandbox down and lays out the legacy PostgreSQL site anew (`orders` rows; default
 * about 300 MB), on PostgreSQL `server` ("15.18", Debian's, by default; or "15.17").
 */
export async function freshLegacyPostgres(orders?: number, server?: string): Promise<sandbox.Inventory> {
    await sandbox.down();
    return sandbox.up({ hosts: 3, site: "legacy-postgres", dataset: orders === undefined ? {} : { keys: orders }, postgresVersion: server });
}

/** The application user's password, from the sandbox's file. */
export function postgresAppPassword(inventory: sandbox.Inventory): string {
    if (!inventory.postgres) throw new Error("the sandbox has no PostgreSQL site");
    return fs.readFileSync(inventory.postgres.appPasswordFile, "utf8").trim();
}

/**
 * Makes the next major upgrade fail after the primary stopped, where `pg_upgrade --check` sees
 * nothing: an empty table whose file is then removed from the master's data directory (the
 * standby keeps its copy, so the way back restores it). pg_upgrade --link fails linking it.
 * Returns the table's name; drop it on the primary afterwards.
 */
export async function breakUpgradeAfterCheck(host: string, dataDir: string, psql: (host: string, sql: string) => Promise<string>): Promise<string> {
    const table = "mw_upgrade_blocker";
    await psql(host, `CREATE TABLE ${table} (id int)`);
    await psql(host, "CHECKPOINT");
    const file = await psql(host, `SELECT pg_relation_filepath('${table}')`);
    const r = await sandbox.exec(host, `rm ${dataDir}/${file}`);
    if (r.code !== 0) throw new Error(`${host}: rm ${dataDir}/${file}: ${r.stderr.trim()}`);
    return table;
}
