/**
 * `npm run bench -- kafka`: the Kafka + ZooKeeper site migrated and rolled back on the sandbox
 * with a real `pulumi up` and `pulumi destroy`, node by node, while an idempotent producer
 * (acks=all) sends every 20 ms and a consumer group reads; between the two, the managed
 * ZooKeeper is upgraded (3.8.6 -> 3.9.5) and set back, each a rolling `pulumi up`. Prints, as its
 * last line, JSON with produce_gap_ms, lost, duplicates, consume_gap_ms and total_s for each.
 */
import * as path from "node:path";
import * as sandbox from "../sandbox";
import { forgetStack, projectRoot } from "../tools/engine";
import { freshLegacyKafka, kafkaSiteStack, LEGACY_KAFKA_HOSTS, setZookeeperVersion } from "../tools/kafka-site";
import { middlewareJars, UPGRADE_KAFKA_JARS, ZOOKEEPER_VERSION } from "../sandbox/sites/kafka-jars";
import { startTraffic } from "./kafka-traffic";

/** What one engine run did to the traffic. */
export interface KafkaRunFigures {
    /** Longest stretch without an acknowledged produce. */
    readonly produce_gap_ms: number;
    /** Acknowledged messages the group never consumed. */
    readonly lost: number;
    /** Consumptions beyond the first of a message. */
    readonly duplicates: number;
    /** Longest stretch without a consumed message. */
    readonly consume_gap_ms: number;
    /** Wall time of the engine command. */
    readonly total_s: number;
    readonly sent: number;
    readonly acknowledged: number;
}

async function measured(label: string, inv: sandbox.Inventory, run: () => Promise<void>): Promise<KafkaRunFigures> {
    const traffic = await startTraffic({ brokers: inv.kafka!.bootstrap, topic: inv.kafka!.trafficTopic, groupId: `bench-${label}-${Date.now()}`, runId: `bench-${label}-${Date.now()}` });
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    let totalS = 0;
    try {
        await run();
    } finally {
        totalS = Math.round((Date.now() - started) / 100) / 10;
        await new Promise((r) => setTimeout(r, 1000));
    }
    const r = await traffic.stop();
    const figures = {
        produce_gap_ms: r.produceGapMs,
        lost: r.lost,
        duplicates: r.duplicates,
        consume_gap_ms: r.consumeGapMs,
        total_s: totalS,
        sent: r.sent,
        acknowledged: r.acknowledged,
    };
    console.log(`bench: ${label}: ${JSON.stringify(figures)}, failed sends by cause ${JSON.stringify(r.failures)}` +
        `${r.clientSkips.length ? `, offsets kafkajs passed over (read again): ${r.clientSkips.join(", ")}` : ""}` +
        `${r.lost ? `, acknowledged but never consumed: ${r.lostIds.map((n) => `${n} (${r.lostWhere[n]})`).join(", ")}` : ""}` +
        `${r.sameOffsetAcks.length ? `, acknowledged at an earlier id's offset: ${r.sameOffsetAcks.join(", ")}` : ""}`);
    return figures;
}

/** Runs the Kafka benchmark (no options). */
export async function main(rest: readonly string[]): Promise<void> {
    if (rest.length) throw new Error(`bench kafka takes no options, got ${rest.join(" ")}`);
    console.log("bench: laying out a fresh legacy Kafka + ZooKeeper site in the sandbox");
    await sandbox.up({ hosts: LEGACY_KAFKA_HOSTS, site: "legacy-kafka", installPrerequisites: true });
    const inv = await freshLegacyKafka();
    const name = `bench-kafka-${process.pid}`;
    const stack = await kafkaSiteStack(name);
    const log = (line: string) => process.stdout.write(`  | ${line}`);
    try {
        const migration = await measured("migration", inv, async () => {
            const r = await stack.up({ onOutput: log });
            if (r.summary.result !== "succeeded") throw new Error(`pulumi up: ${r.summary.result}`);
        });
        const up = async () => {
            const r = await stack.up({ onOutput: log });
            if (r.summary.result !== "succeeded") throw new Error(`pulumi up: ${r.summary.result}`);
        };
        const upgrade = middlewareJars(UPGRADE_KAFKA_JARS);
        const base = middlewareJars();
        await setZookeeperVersion(stack, inv, UPGRADE_KAFKA_JARS.zookeeper, upgrade.dir, ZOOKEEPER_VERSION);
        const zookeeperUpgrade = await measured("zookeeper_upgrade", inv, up);
        await setZookeeperVersion(stack, inv, ZOOKEEPER_VERSION, base.dir, UPGRADE_KAFKA_JARS.zookeeper);
        const zookeeperBack = await measured("zookeeper_back", inv, up);
        const rollback = await measured("rollback", inv, async () => {
            const r = await stack.destroy({ onOutput: log });
            if (r.summary.result !== "succeeded") throw new Error(`pulumi destroy: ${r.summary.result}`);
        });
        console.log(JSON.stringify({ topology: "kafka", from: `${inv.kafka!.kafkaVersion}/${inv.kafka!.zookeeperVersion}`, to: "3.9.2/3.8.6", migration,
            zookeeper_upgrade: { to: UPGRADE_KAFKA_JARS.zookeeper, ...zookeeperUpgrade }, zookeeper_back: { to: ZOOKEEPER_VERSION, ...zookeeperBack }, rollback }));
    } finally {
        await forgetStack(stack, "middleware", name, path.join(projectRoot, "stacks"));
    }
}
