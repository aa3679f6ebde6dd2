/**
 * Traffic through a Kafka cluster while it changes: an idempotent producer (acks=all) sending
 * numbered messages one at a time, and a consumer group reading them back. Every id the
 * producer saw acknowledged must be consumed at least once; ids consumed more than once are
 * counted as duplicates, never deduplicated away. Talks to Kafka through kafkajs.
 *
 * @module
 */
import type { Consumer, Kafka, Producer } from "kafkajs";
import { kafkaClient } from "../sandbox/sites/kafka-dataset";

/** Where to send and read. */
export interface TrafficOptions {
    readonly brokers: readonly string[];
    readonly topic: string;
    /** Consumer group id; use a fresh one per run. */
    readonly groupId: string;
    /** Message ids are `<runId>:<n>`; use a fresh run id per run. */
    readonly runId: string;
    /** Pause between two sends, in ms. @default 20 */
    readonly intervalMs?: number;
}

/** What the traffic saw. Times are `Date.now()` ms. */
export interface TrafficReport {
    readonly sent: number;
    readonly acknowledged: number;
    /** Sends that failed (after kafkajs's retries); their messages may or may not be in the log. */
    readonly failed: number;
    /** Longest stretch without an acknowledged send, from start to stop. */
    readonly produceGapMs: number;
    /** Longest stretch without a consumed message of this run, from the first to the last one. */
    readonly consumeGapMs: number;
    /** Acknowledged ids never consumed. */
    readonly lost: number;
    /** The first of them (up to 20), to look for in the log. */
    readonly lostIds: readonly number[];
    /**
     * Where each of {@link lostIds} is, from a second read of the whole topic after the drain:
     * `partition/offset` when the log holds it (the group was never given it), `not in the log`
     * when no replica kept it; either way followed by the offset the broker acknowledged it at
     * and what that offset holds.
     */
    readonly lostWhere: Readonly<Record<number, string>>;
    /**
     * Ids acknowledged at the offset of an earlier id (`id at partition/offset, as id`): the
     * broker took the send for a retry of a message it had already written. Must be empty.
     */
    readonly sameOffsetAcks: readonly string[];
    /**
     * Offsets the consumer client (kafkajs) passed over, `partition/from-to at time`: each was
     * read again by seeking back to it, so the group still consumes every message.
     */
    readonly clientSkips: readonly string[];
    /** Consumptions beyond the first of an id (redelivery after a rebalance). */
    readonly duplicates: number;
    /** Consumed ids the producer never sent (must be 0). */
    readonly foreign: number;
    /** Failures by cause. */
    readonly failures: Record<string, number>;
    readonly consumed: number;
}

/** Running traffic. */
export interface Traffic {
    /** Stops producing, waits (up to `drainMs`) until every acknowledged id was consumed, then reports. */
    stop(drainMs?: number): Promise<TrafficReport>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the consumer group (waits until it has its partitions), then the producer. */
export async function startTraffic(o: TrafficOptions): Promise<Traffic> {
    const kafka = kafkaClient(o.brokers, `traffic-${o.runId}`);
    const consumer: Consumer = kafka.consumer({ groupId: o.groupId, sessionTimeout: 10000, heartbeatInterval: 1000, rebalanceTimeout: 10000, retry: { retries: 100, initialRetryTime: 200, maxRetryTime: 2000 } });
    const newProducer = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    const counts = new Map<number, number>();
    const consumeTimes: number[] = [];
    /** The offset the group should be given next, per partition. */
    const next = new Map<number, number>();
    const seekingTo = new Map<number, number>();
    const clientSkips: string[] = [];
    let foreign = 0;
    const prefix = `${o.runId}:`;
    await consumer.connect();
    // A fresh group has no committed offsets: "latest" would make a partition that changes owner
    // before its first commit skip what was written meanwhile. From the beginning it reads older
    // runs too, which the id prefix filters out.
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    let assigned = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { assigned = true; });
    await consumer.run({
        eachMessage: async ({ partition, message }) => {
            const offset = Number(message.offset);
            // Offsets of this topic are contiguous (no compaction, no transactions): a message
            // past the next one expected means the client skipped some. Read them again, and say so.
            const expected = next.get(partition);
            if (expected !== undefined && offset > expected) {
                if (seekingTo.get(partition) !== expected) {
                    clientSkips.push(`${partition}/${expected}${offset - 1 > expected ? `-${offset - 1}` : ""} at ${new Date().toISOString()}`);
                    seekingTo.set(partition, expected);
                }
                consumer.seek({ topic: o.topic, partition, offset: String(expected) });
                return;
            }
            seekingTo.delete(partition);
            next.set(partition, offset + 1);
            const id = message.value?.toString() ?? "";
            if (!id.startsWith(prefix)) return;
            const n = Number(id.slice(prefix.length));
            if (!Number.isInteger(n)) { foreign++; return; }
            counts.set(n, (counts.get(n) ?? 0) + 1);
            consumeTimes.push(Date.now());
        },
    });
    for (let i = 0; i < 300 && !assigned; i++) await sleep(100);
    if (!assigned) throw new Error(`consumer group ${o.groupId} got no partitions within 30 s`);
    let producer = newProducer();
    await producer.connect();
    let producerSuspect = false;

    const acked: number[] = [];
    /** Where the broker said each acknowledged id was written: `partition/offset`. */
    const ackedAt = new Map<number, string>();
    const ackTimes: number[] = [];
    const failures: Record<string, number> = {};
    let sent = 0;
    let running = true;
    const startedAt = Date.now();
    const loop = (async () => {
        while (running) {
            const n = ++sent;
            try {
                if (producerSuspect) {
                    await producer.disconnect().catch(() => undefined);
                    producer = newProducer();
                    await producer.connect();
                    producerSuspect = false;
                }
                const [meta] = await producer.send({ topic: o.topic, acks: -1, messages: [{ key: String(n % 64), value: `${prefix}${n}` }] });
                acked.push(n);
                ackTimes.push(Date.now());
                ackedAt.set(n, `${meta.partition}/${meta.baseOffset}`);
            } catch (e) {
                const cause = (e as Error).message.slice(0, 120);
                failures[cause] = (failures[cause] ?? 0) + 1;
                // kafkajs gives the partition's sequence number back after a failed send, though
                // the broker may have written it: the next message would then go with that number
                // and be acknowledged as a retry of this one, never written. A new producer (a new
                // producer id) numbers afresh, as the Java client's epoch bump does.
                producerSuspect = true;
            }
            await sleep(o.intervalMs ?? 20);
        }
    })();

    return {
        async stop(drainMs = 60_000) {
            running = false;
            await loop;
            const stoppedAt = Date.now();
            const deadline = Date.now() + drainMs;
            while (Date.now() < deadline && acked.some((n) => !counts.has(n))) await sleep(200);
            await producer.disconnect().catch(() => undefined);
            await consumer.disconnect().catch(() => undefined);
            const gap = (times: number[], from: number, to: number) => {
                const points = [from, ...times, to];
                let max = 0;
                for (let i = 1; i < points.length; i++) max = Math.max(max, points[i] - points[i - 1]);
                return max;
            };
            const consumedTimes = [...consumeTimes].sort((a, b) => a - b);
            const lost = acked.filter((n) => !counts.has(n));
            const lostWhere = lost.length ? await whereInLog(kafka, o.topic, prefix, lost.slice(0, 20), ackedAt) : {};
            const firstAckAt = new Map<string, number>();
            const sameOffsetAcks: string[] = [];
            for (const n of acked) {
                const at = ackedAt.get(n)!;
                const earlier = firstAckAt.get(at);
                if (earlier === undefined) firstAckAt.set(at, n);
                else sameOffsetAcks.push(`${n} at ${at}, as ${earlier}`);
            }
            return {
                sent,
                acknowledged: acked.length,
                failed: sent - acked.length,
                produceGapMs: gap(ackTimes, startedAt, stoppedAt),
                consumeGapMs: consumedTimes.length ? gap(consumedTimes, consumedTimes[0], consumedTimes[consumedTimes.length - 1]) : Infinity,
                lost: lost.length,
                lostIds: lost.slice(0, 20),
                lostWhere,
                sameOffsetAcks,
                clientSkips,
                duplicates: [...counts.values()].reduce((d, c) => d + (c - 1), 0),
                foreign: foreign + [...counts.keys()].filter((n) => n < 1 || n > sent).length,
                failures,
                consumed: consumeTimes.length,
            };
        },
    };
}

/**
 * Reads the whole topic once more with a throwaway group and says where each id is, where the
 * broker acknowledged it (`ackedAt`) and what that offset holds.
 */
async function whereInLog(kafka: Kafka, topic: string, prefix: string, ids: readonly number[], ackedAt: ReadonlyMap<number, string>): Promise<Record<number, string>> {
    const where: Record<number, string> = Object.fromEntries(ids.map((n) => [n, "not in the log"]));
    const wanted = new Set(ids);
    const ackOffsets = new Set(ids.map((n) => ackedAt.get(n)));
    const heldAt = new Map<string, string>();
    const admin = kafka.admin();
    const reader = kafka.consumer({ groupId: `${prefix}audit-${Date.now()}` });
    try {
        await admin.connect();
        const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
        const done = new Set([...high].filter(([, h]) => h === 0).map(([p]) => p));
        await reader.connect();
        await reader.subscribe({ topic, fromBeginning: true });
        let finished!: () => void;
        const all = new Promise<void>((resolve) => { finished = resolve; });
        await reader.run({
            eachMessage: async ({ partition, message }) => {
                const value = message.value?.toString() ?? "";
                const n = value.startsWith(prefix) ? Number(value.slice(prefix.length)) : NaN;
                if (wanted.has(n)) where[n] = `${partition}/${message.offset}`;
                if (ackOffsets.has(`${partition}/${message.offset}`)) heldAt.set(`${partition}/${message.offset}`, value);
                if (Number(message.offset) + 1 >= (high.get(partition) ?? 0)) done.add(partition);
                if (done.size === high.size) finished();
            },
        });
        if (done.size < high.size) await Promise.race([all, sleep(60_000)]);
        if (done.size < high.size) for (const n of ids) if (where[n] === "not in the log") where[n] = "unknown (the topic could not be read to its end in 60 s)";
    } catch (e) {
        for (const n of ids) if (where[n] === "not in the log") where[n] = `unknown (${(e as Error).message})`;
    } finally {
        await reader.disconnect().catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
    }
    for (const n of ids) where[n] += `; acknowledged at ${ackedAt.get(n)}, which holds ${JSON.stringify(heldAt.get(ackedAt.get(n)!) ?? "nothing read")}`;
    return where;
}
