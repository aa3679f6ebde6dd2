/**
 * The sandbox's Kafka site for the engine tests and the benchmark: a fresh legacy cluster, and
 * a stack of the site program configured like `stacks/Pulumi.sandbox-kafka.yaml`, its roll
 * order put leader-last and controller-last from what the live site reports.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { settingsFromEnv, statePaths } from "../sandbox/config";
import { kafkaClient } from "../sandbox/sites/kafka-dataset";
import { localStack, projectRoot } from "./engine";

/** Hosts of the sandbox's Kafka site. */
export const LEGACY_KAFKA_HOSTS = 3;

/** The committed config of the sandbox's Kafka site. */
export function sandboxKafkaConfig(): Record<string, unknown> {
    const file = path.join(projectRoot, "stacks", "Pulumi.sandbox-kafka.yaml");
    return (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
}

/** Takes the sandbox down and lays out the legacy Kafka site anew. */
export async function freshLegacyKafka(): Promise<sandbox.Inventory> {
    await sandbox.down();
    return sandbox.up({ hosts: LEGACY_KAFKA_HOSTS, site: "legacy-kafka" });
}

/** The legacy-kafka site's inventory, or the sandbox laid out anew when it carries no such site. */
export async function legacyKafkaSite(): Promise<sandbox.Inventory> {
    try {
        const inv = sandbox.inventory();
        if (inv.kafka) return inv;
    } catch {
        // no sandbox yet
    }
    return freshLegacyKafka();
}

/** The ZooKeeper mode (`leader`, `follower`, "" when down) of each host, from `srvr`. */
export async function zookeeperModes(inv: sandbox.Inventory, lib: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const h of inv.kafka!.hosts) {
        const address = inv.hosts.find((x) => x.name === h.name)!.address;
        const r = await sandbox.exec(h.name, `/usr/bin/java -Xmx32m -cp '${lib}/*' org.apache.zookeeper.client.FourLetterWordMain ${address} 2181 srvr 2>/dev/null`);
        out[h.name] = /^Mode: (\w+)/m.exec(r.stdout)?.[1] ?? "";
    }
    return out;
}

/** The active controller's broker id, as the cluster reports it. */
export async function controllerId(inv: sandbox.Inventory): Promise<number> {
    const admin = kafkaClient(inv.kafka!.bootstrap, "engine-roll-order").admin();
    await admin.connect();
    try {
        return (await admin.describeCluster()).controller ?? -1;
    } finally {
        await admin.disconnect();
    }
}

/** What a stack's `middleware:kafka` may change from the committed config. */
export interface KafkaConfigPatch {
    readonly brokerListeners?: Record<string, string>;
    readonly finalize?: boolean;
}

/**
 * The roll order an operator would write: the ZooKeeper leader and the active controller last,
 * the others by host name.
 */
export async function rollOrder(inv: sandbox.Inventory): Promise<{ zookeeper: string[]; brokers: string[] }> {
    const modes = await zookeeperModes(inv, inv.kafka!.zookeeperDir + "/lib");
    const controller = await controllerId(inv);
    const names = inv.kafka!.hosts.map((h) => h.name).sort();
    const leader = names.find((h) => modes[h] === "leader");
    const controllerHost = inv.kafka!.hosts.find((h) => h.brokerId === controller)?.name;
    if (!leader || !controllerHost) throw new Error(`the legacy site has no ZooKeeper leader or no controller: ${JSON.stringify(modes)}, controller ${controller}`);
    return { zookeeper: [...names.filter((h) => h !== leader), leader], brokers: [...names.filter((h) => h !== controllerHost), controllerHost] };
}

/**
 * A stack of the site program for the sandbox's Kafka site, in the live roll order. A stack that
 * has its config already keeps it (a migrated site has no legacy tools to read the order with).
 */
export async function kafkaSiteStack(name: string, patch: KafkaConfigPatch = {}): Promise<Stack> {
    const inv = sandbox.inventory();
    const stack = await localStack(projectRoot, name);
    const existing = await stack.getAllConfig();
    // An empty object is no topology (stacks/site-config.ts topologyConfig).
    const configured = (existing["middleware:kafka"]?.value ?? "{}") !== "{}";
    if (configured && Object.keys(patch).length === 0) return stack;
    const config = sandboxKafkaConfig();
    const committed = config["middleware:kafka"] as Record<string, unknown>;
    const order = await rollOrder(inv);
    const byName = new Map(inv.kafka!.hosts.map((h) => [h.name, h]));
    const kafka = {
        ...committed,
        zookeeper: order.zookeeper.map((h) => ({ host: h, myid: byName.get(h)!.myid })),
        brokers: order.brokers.map((h) => ({ host: h, brokerId: byName.get(h)!.brokerId, ...(patch.brokerListeners?.[h] ? { listener: patch.brokerListeners[h] } : {}) })),
        ...(patch.finalize === undefined ? {} : { finalize: patch.finalize }),
    };
    const all: Record<string, unknown> = { ...config, "middleware:inventoryFile": statePaths(settingsFromEnv()).inventoryFile, "middleware:kafka": kafka };
    await stack.setAllConfig(Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v) }])));
    return stack;
}

/**
 * Sets a migrated stack's managed ZooKeeper version (and the jar set holding it), the ensemble
 * listed with its live leader last, as an operator would before a version change.
 *
 * @param running - the ZooKeeper version the site runs now (whose tools read the leader)
 * @returns the roll order, as the config lists it
 */
export async function setZookeeperVersion(stack: Stack, inv: sandbox.Inventory, version: string, jars: string, running: string, managedRoot = "/app/middleware/kafka"): Promise<string[]> {
    const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { zookeeper: { host: string }[] };
    const modes = await zookeeperModes(inv, `${managedRoot}/zookeeper-${running}/lib`);
    const leader = Object.keys(modes).find((h) => modes[h] === "leader");
    if (!leader) throw new Error(`the site has no ZooKeeper leader: ${JSON.stringify(modes)}`);
    const zookeeper = [...kafka.zookeeper.filter((n) => n.host !== leader), ...kafka.zookeeper.filter((n) => n.host === leader)];
    await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...kafka, zookeeper, zookeeperVersion: version, jars }) });
    return zookeeper.map((n) => n.host);
}
