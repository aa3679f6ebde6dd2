/**
 * `npm run bench -- redis`: the Redis pair migrated and rolled back on the sandbox with a real
 * `pulumi up` and `pulumi destroy`, while a client writes through the VIP every 10 ms.
 * Prints, as its last line, JSON with downtime_ms, lost_writes and total_s for each.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { freshLegacyRedis, hasResources, LEGACY_REDIS_HOSTS, redisPassword, siteStack } from "../tools/redis-site";
import { measureWithClient } from "./measure";
import { startWriter, verifyWrites } from "./writer";

/** What one engine run did to the writing client. */
export interface RunFigures {
    /** The longest gap between two acknowledged writes. */
    readonly downtime_ms: number;
    /** Acknowledged writes that were missing or wrong afterwards. */
    readonly lost_writes: number;
    /** Wall time of the engine command. */
    readonly total_s: number;
    /** Writes attempted and acknowledged. */
    readonly writes: number;
    readonly acknowledged: number;
}

async function measured(label: string, vip: string, password: string, run: () => Promise<void>): Promise<RunFigures> {
    const keyPrefix = `bench:${label}:${Date.now()}`;
    const { report, totalS } = await measureWithClient(startWriter({ host: vip, port: 6379, password, keyPrefix, intervalMs: 10 }), run);
    const verified = await verifyWrites({ host: vip, port: 6379, password, keyPrefix, report });
    const figures = {
        downtime_ms: Math.round(report.downtimeMs),
        lost_writes: verified.lostWrites,
        total_s: totalS,
        writes: report.attempts,
        acknowledged: report.acknowledged,
    };
    console.log(`bench: ${label}: ${JSON.stringify(figures)}, failed writes by cause ${JSON.stringify(report.failures)}`);
    return figures;
}

/** Runs the Redis benchmark with the arguments after `redis`. */
export async function main(rest: readonly string[]): Promise<void> {
    const keysAt = rest.indexOf("--keys");
    const keys = keysAt >= 0 ? Number(rest[keysAt + 1]) : undefined;
    if (keys !== undefined && !(Number.isInteger(keys) && keys > 0)) throw new Error(`--keys: expected a positive whole number, got ${rest[keysAt + 1]}`);

    console.log("bench: laying out a fresh legacy Redis pair in the sandbox");
    await sandbox.up({ hosts: LEGACY_REDIS_HOSTS, site: "legacy-redis", installPrerequisites: true });
    const stack: Stack = await siteStack("bench");
    if (await hasResources(stack)) await stack.destroy();
    const inventory = await freshLegacyRedis({ keys });
    const vip = inventory.vip!.address;
    const password = redisPassword(inventory);
    const log = (line: string) => process.stdout.write(`  | ${line}`);

    const migration = await measured("migration", vip, password, async () => {
        const r = await stack.up({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi up: ${r.summary.result}`);
    });
    const rollback = await measured("rollback", vip, password, async () => {
        const r = await stack.destroy({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi destroy: ${r.summary.result}`);
    });
    console.log(JSON.stringify({ topology: "redis", keys: inventory.redis!.datasetKeys, migration, rollback }));
}
