/**
 * The sandbox's Redis site for the demo, the benchmark and the engine tests: a fresh legacy
 * pair, and a stack of the site program configured like `stacks/Pulumi.sandbox.yaml`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { SandboxSettings, settingsFromEnv, statePaths } from "../sandbox/config";
import { readInventory } from "../sandbox/inventory";
import { localStack, projectRoot } from "./engine";

/** The sandbox site's config, as committed. */
export function sandboxConfig(): Record<string, unknown> {
    const file = path.join(projectRoot, "stacks", "Pulumi.sandbox.yaml");
    return (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/**
 * A stack of the site program. `sandbox` uses the committed config; any other name gets a copy
 * of it (in an ignored `stacks/Pulumi.<name>.yaml`) pointed at a running sandbox, which may
 * live elsewhere (`SANDBOX_DIR`, `SANDBOX_SUBNET`), so tests and benchmarks keep their own state.
 *
 * @param settings - the sandbox the stack's site is; @default - the one of this process's environment
 */
export async function siteStack(name: string, settings: SandboxSettings = settingsFromEnv()): Promise<Stack> {
    const stack = await localStack(projectRoot, name);
    if (name !== "sandbox") {
        const s = settings;
        const inventory = readInventory(s);
        const config: Record<string, unknown> = { ...sandboxConfig(), "middleware:inventoryFile": statePaths(s).inventoryFile };
        const redis = config["middleware:redis"] as Record<string, unknown> | undefined;
        if (redis && inventory.redis && inventory.vip) {
            config["middleware:redis"] = {
                ...redis,
                passwordFile: inventory.redis.passwordFile,
                vip: { ...(redis.vip as object), address: inventory.vip.address, prefix: inventory.vip.prefixLength },
            };
        }
        await stack.setAllConfig(
            Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }])),
        );
    }
    return stack;
}

/** Whether a stack holds resources (a migration done or half done). */
export async function hasResources(stack: Stack): Promise<boolean> {
    const state = await stack.exportStack();
    return (state.deployment.resources?.length ?? 0) > 0;
}

/** What {@link freshLegacyRedis} lays out. */
export interface LegacyRedisOptions {
    /** Keys of the data set. @default - the sandbox's default data set */
    readonly keys?: number;
    /** Redis version the legacy pair runs (see `sandbox/sites/redis-versions.ts`). @default - Debian's */
    readonly redisVersion?: string;
}

/** Takes the sandbox down and lays out the legacy Redis pair anew. */
/** Hosts of the sandbox's Redis site: the pair, and a third host on the segment (a foreign keepalived in the tests). */
export const LEGACY_REDIS_HOSTS = 3;

export async function freshLegacyRedis(opts: LegacyRedisOptions = {}): Promise<sandbox.Inventory> {
    await sandbox.down();
    return sandbox.up({ hosts: LEGACY_REDIS_HOSTS, site: "legacy-redis", dataset: opts.keys === undefined ? {} : { keys: opts.keys }, redisVersion: opts.redisVersion });
}

/** The legacy pair's password, from the sandbox's file. */
export function redisPassword(inventory: sandbox.Inventory): string {
    if (!inventory.redis) throw new Error("the sandbox has no Redis site: npm run sandbox -- up --site legacy-redis");
    return fs.readFileSync(inventory.redis.passwordFile, "utf8").trim();
}

/** Changes keys of `middleware:redis` in a stack's config (a version change, say), keeping the rest. */
export async function patchRedisConfig(stack: Stack, patch: Record<string, unknown>): Promise<void> {
    const current = JSON.parse((await stack.getConfig("middleware:redis")).value) as Record<string, unknown>;
    await stack.setConfig("middleware:redis", { value: JSON.stringify({ ...current, ...patch }) });
}
