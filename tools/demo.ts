/**
 * `npm run demo`: the sandbox's legacy Redis pair migrated with a real `pulumi up` on stack
 * `sandbox`; `npm run demo -- --rollback` takes it back with `pulumi destroy`.
 */
import * as sandbox from "../sandbox";
import { connect } from "../bench/redis-client";
import { LEGACY_REDIS_HOSTS, redisPassword, siteStack } from "./redis-site";

async function describeEndpoint(inventory: sandbox.Inventory): Promise<string> {
    const vip = inventory.vip!.address;
    const client = await connect({ host: vip, port: inventory.redis!.port, password: redisPassword(inventory), connectTimeoutMs: 2000, commandTimeoutMs: 2000 });
    try {
        const info = await client.info("server");
        const replication = await client.info("replication");
        const keys = await client.dbsize();
        const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1]?.trim() ?? "?";
        return `${vip}:${inventory.redis!.port} answers: ${field(replication, "role")} with ${field(replication, "connected_slaves")} replica(s), ${keys} keys, redis ${field(info, "redis_version")}, executable ${field(info, "executable")}`;
    } finally {
        client.disconnect();
    }
}

async function main(): Promise<void> {
    const rollback = process.argv.includes("--rollback");
    console.log("demo: sandbox hosts with the legacy Redis pair (npm run sandbox -- up --site legacy-redis)");
    const inventory = await sandbox.up({ hosts: LEGACY_REDIS_HOSTS, site: "legacy-redis", installPrerequisites: true });
    console.log(`demo: before: ${await describeEndpoint(inventory)}`);
    const stack = await siteStack("sandbox");
    const print = (line: string) => process.stdout.write(line);
    if (rollback) {
        console.log("demo: rolling back: pulumi destroy on stack sandbox");
        const result = await stack.destroy({ onOutput: print });
        console.log(`demo: rollback ${result.summary.result}: ${JSON.stringify(result.summary.resourceChanges)}`);
    } else {
        console.log("demo: migrating: pulumi up on stack sandbox");
        const result = await stack.up({ onOutput: print });
        console.log(`demo: migration ${result.summary.result}: ${JSON.stringify(result.summary.resourceChanges)}`);
        console.log(`demo: endpoint (stack output): ${result.outputs.redis?.value?.endpoint}`);
    }
    console.log(`demo: after: ${await describeEndpoint(inventory)}`);
}

main().catch((err: Error) => {
    console.error(`demo: ${err.message}`);
    process.exit(1);
});
