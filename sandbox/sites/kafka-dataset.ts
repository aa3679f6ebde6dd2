import { createHash } from "crypto";
import { Admin, Kafka, logLevel } from "kafkajs";
import { progress } from "../progress";
import { waitFor } from "../run";

/** The seeded topic: the data set the migration must carry. */
export const SEEDED_TOPIC = "orders";
/** The topic the tests' and the bench's producer and consumer group use while the site changes. */
export const TRAFFIC_TOPIC = "events";
/** The consumer group of the seeded topic, with committed offsets half way through. */
export const SEEDED_GROUP = "billing";
/** Partitions of both topics. */
export const PARTITIONS = 3;
/** Replication factor of both topics. */
export const REPLICATION_FACTOR = 3;
/** `min.insync.replicas` of both topics: one broker may be down, never two. */
export const MIN_INSYNC_REPLICAS = 2;
/** Default number of messages seeded into {@link SEEDED_TOPIC}. */
export const DEFAULT_SEEDED_MESSAGES = 3000;

/** A kafkajs client of the site, quiet unless something is wrong. */
export function kafkaClient(brokers: readonly string[], clientId: string): Kafka {
    return new Kafka({
        clientId,
        brokers: [...brokers],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 3000,
        requestTimeout: 10000,
        retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 2000 },
    });
}

/** Message `i` of the seeded data set: the same seed gives the same bytes. */
export function seededMessage(i: number, seed: number): { key: string; value: string } {
    const digest = createHash("sha256").update(`${seed}:${i}`).digest("hex");
    return { key: `order-${i}`, value: JSON.stringify({ seq: i, seed, digest }) };
}

/** Waits until the cluster has `count` brokers and a controller; returns the controller's id. */
export async function waitForBrokers(admin: Admin, count: number, timeoutMs: number): Promise<number> {
    let last = "";
    let controller = -1;
    const ok = await waitFor(async () => {
        try {
            const c = await admin.describeCluster();
            last = `brokers ${c.brokers.map((b) => b.nodeId).sort().join(",")}, controller ${c.controller}`;
            controller = c.controller ?? -1;
            return c.brokers.length === count && controller >= 0;
        } catch (e) {
            last = (e as Error).message;
            return false;
        }
    }, timeoutMs, 500);
    if (!ok) throw new Error(`the Kafka cluster did not register ${count} brokers: ${last}`);
    return controller;
}

/**
 * Creates the topics, seeds {@link SEEDED_TOPIC} with `messages` messages (acks=all) and commits
 * the offsets of {@link SEEDED_GROUP} half way through each partition. Returns those offsets.
 */
export async function seedKafka(brokers: readonly string[], messages: number, seed: number): Promise<Record<string, string>> {
    const kafka = kafkaClient(brokers, "sandbox-seed");
    const admin = kafka.admin();
    await admin.connect();
    try {
        const topicConfig = [{ name: "min.insync.replicas", value: String(MIN_INSYNC_REPLICAS) }];
        await admin.createTopics({
            waitForLeaders: true,
            topics: [SEEDED_TOPIC, TRAFFIC_TOPIC].map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: REPLICATION_FACTOR, configEntries: topicConfig })),
        });
        progress(`seeding ${messages} messages into ${SEEDED_TOPIC} (seed ${seed})`);
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        for (let i = 0; i < messages; i += 500) {
            const batch = Array.from({ length: Math.min(500, messages - i) }, (_, j) => seededMessage(i + j, seed));
            await producer.send({ topic: SEEDED_TOPIC, acks: -1, messages: batch });
        }
        await producer.disconnect();
        const ends = await admin.fetchTopicOffsets(SEEDED_TOPIC);
        const committed = ends.map((p) => ({ partition: p.partition, offset: String(Math.floor(Number(p.high) / 2)) }));
        await admin.setOffsets({ groupId: SEEDED_GROUP, topic: SEEDED_TOPIC, partitions: committed });
        return Object.fromEntries(committed.map((p) => [String(p.partition), p.offset]));
    } finally {
        await admin.disconnect();
    }
}
