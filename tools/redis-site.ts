/**
 * The sandbox's Redis site for the demo, the benchmark and the engine tests: a fresh legacy
 * pair, and a stack of the site program configured like `stacks/Pulumi.sandbox.yaml`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { localStack, projectRoot } from "./engine";

/** The sandbox site's config, as committed. */
export function sandboxConfig(): Record<string, unknown> {
    const file = path.join(projectRoot, "stacks", "Pulumi.sandbox.yaml");
    return (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/**
 * A stack of the site program. `sandbox` uses the committed config; any other name gets a copy
 * of it (in an ignored `stacks/Pulumi.<name>.yaml`), so tests and benchmarks keep their own state.
 */
export async function siteStack(name: string): Promise<Stack> {
    const stack = await localStack(projectRoot, name);
    if (name !== "sandbox") {
        const config = Object.fromEntries(
            Object.entries(sandboxConfig()).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }]),
        );
        await stack.setAllConfig(config);
    }
    return stack;
}

/** Whether a stack holds resources (a migration done or half done). */
export async function hasResources(stack: Stack): Promise<boolean> {
    const state = await stack.exportStack();
    return (state.deployment.resources?.length ?? 0) > 0;
}

/** Takes the sandbox down and lays out the legacy Redis pair anew. */
export async function freshLegacyRedis(keys?: number): Promise<sandbox.Inventory> {
    await sandbox.down();
    return sandbox.up({ hosts: 2, site: "legacy-redis", dataset: keys === undefined ? {} : { keys } });
}

/** The legacy pair's password, from the sandbox's file. */
export function redisPassword(inventory: sandbox.Inventory): string {
    if (!inventory.redis) throw new Error("the sandbox has no Redis site: npm run sandbox -- up --site legacy-redis");
    return fs.readFileSync(inventory.redis.passwordFile, "utf8").trim();
}
