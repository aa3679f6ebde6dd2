/**
 * The benchmark's measuring client: writes through the VIP at a steady pace while a migration
 * runs, then tells how long writes were refused (downtime) and which acknowledged writes the
 * server no longer has (lost writes). It talks to Redis through ioredis, set up in
 * ./redis-client so that every write's outcome is seen: no queueing, no retries, no resending.
 *
 * @module
 */
import { connect, Redis } from "./redis-client";

/** Where to write and how often. */
export interface WriterOptions {
    readonly host: string;
    readonly port: number;
    /** @default - no AUTH */
    readonly password?: string;
    /** Keys are `<keyPrefix>:<seq>`; use a fresh prefix per run. */
    readonly keyPrefix: string;
    /** Pause between the starts of two writes, in ms. @default 10 */
    readonly intervalMs?: number;
    /** A write with no reply after this many ms counts as failed. @default 1000 */
    readonly requestTimeoutMs?: number;
    /** Budget of each (re)connect, AUTH included, in ms. @default 200 */
    readonly connectTimeoutMs?: number;
}

/** What a writer saw, from start to stop. Times are `performance.now()` ms. */
export interface WriterReport {
    /** Writes tried, one per seq (1..attempts). */
    readonly attempts: number;
    /** Writes answered `OK`. */
    readonly acknowledged: number;
    /** Writes that failed: no connection, an error reply, a timeout or a dropped connection. */
    readonly failed: number;
    /** Longest time without an acknowledgement, counting from start and until stop. */
    readonly downtimeMs: number;
    /** Start of that longest gap. */
    readonly downtimeFrom: number;
    /** End of that longest gap. */
    readonly downtimeTo: number;
    /** Acknowledged seqs, ascending. */
    readonly acknowledgedSeqs: number[];
    /** When each of `acknowledgedSeqs` was acknowledged (same index). */
    readonly ackTimes: number[];
    /**
     * How many failures had each cause, e.g. `{ "connect to 10.0.0.100:6379: ECONNREFUSED": 12,
     * "Command timed out": 1 }`. A cause that starts with `connect to ` never sent its write; any
     * other may have been applied by the server without the client learning it.
     */
    readonly failures: Record<string, number>;
    readonly startedAt: number;
    readonly stoppedAt: number;
}

/** A running writer. */
export interface Writer {
    /** Stops after the write in flight settles, closes the connection and reports. */
    stop(): Promise<WriterReport>;
}

/** The longest stretch without an acknowledgement, and where it lies. */
export interface Gap {
    readonly ms: number;
    readonly from: number;
    readonly to: number;
}

/**
 * Longest gap between consecutive acknowledgements, including the one from `startedAt` to the
 * first and from the last to `stoppedAt`; the whole run when nothing was acknowledged.
 */
export function downtime(ackTimes: readonly number[], startedAt: number, stoppedAt: number): Gap {
    const points = [startedAt, ...[...ackTimes].sort((a, b) => a - b), stoppedAt];
    let gap: Gap = { ms: 0, from: startedAt, to: startedAt };
    for (let i = 1; i < points.length; i++) {
        const ms = points[i] - points[i - 1];
        if (ms > gap.ms) gap = { ms, from: points[i - 1], to: points[i] };
    }
    return gap;
}

/**
 * Starts writing `SET <keyPrefix>:<seq> <seq>` with seq = 1, 2, ...: one write at a time, a
 * new one every `intervalMs` (at once when the last took longer), connecting again after any
 * failure.
 */
export function startWriter(options: WriterOptions): Writer {
    const { host, port, password, keyPrefix } = options;
    const intervalMs = options.intervalMs ?? 10;
    const requestTimeoutMs = options.requestTimeoutMs ?? 1000;
    const connectTimeoutMs = options.connectTimeoutMs ?? 200;

    const startedAt = performance.now();
    const acknowledgedSeqs: number[] = [];
    const ackTimes: number[] = [];
    const failures: Record<string, number> = {};
    let attempts = 0;
    let client: Redis | undefined;
    let stopping = false;
    let wake: (() => void) | undefined;

    async function writeOnce(seq: number): Promise<void> {
        try {
            if (client?.status !== "ready") {
                client?.disconnect();
                client = undefined;
                client = await connect({ host, port, password, connectTimeoutMs, commandTimeoutMs: requestTimeoutMs });
            }
            const reply = await client.set(`${keyPrefix}:${seq}`, String(seq));
            if (reply !== "OK") throw new Error(`SET answered ${JSON.stringify(reply)}`);
            ackTimes.push(performance.now());
            acknowledgedSeqs.push(seq);
        } catch (e) {
            // connect's errors say "connect to ..." (the write was never sent); the others are
            // ioredis' ("Command timed out", "Connection is closed.") or the server's (READONLY ...).
            const cause = e instanceof Error ? e.message : String(e);
            failures[cause] = (failures[cause] ?? 0) + 1;
            // Whatever failed, the next write goes over a new connection: after a timeout the
            // VIP may have moved (a dropped packet is never answered), and an error reply such
            // as READONLY means the VIP led to a node that is no longer the master.
            client?.disconnect();
            client = undefined;
        }
    }

    async function run(): Promise<number> {
        let due = startedAt;
        while (!stopping) {
            await writeOnce(++attempts);
            due = Math.max(due + intervalMs, performance.now());
            const wait = due - performance.now();
            if (wait > 0 && !stopping) {
                await new Promise<void>((resolve) => {
                    const timer = setTimeout(resolve, wait);
                    wake = () => {
                        clearTimeout(timer);
                        resolve();
                    };
                });
                wake = undefined;
            }
        }
        client?.disconnect();
        return performance.now();
    }

    const running = run();
    return {
        async stop(): Promise<WriterReport> {
            stopping = true;
            wake?.();
            const stoppedAt = await running;
            const gap = downtime(ackTimes, startedAt, stoppedAt);
            return {
                attempts,
                acknowledged: acknowledgedSeqs.length,
                failed: attempts - acknowledgedSeqs.length,
                downtimeMs: gap.ms,
                downtimeFrom: gap.from,
                downtimeTo: gap.to,
                acknowledgedSeqs,
                ackTimes,
                failures,
                startedAt,
                stoppedAt,
            };
        },
    };
}

/** Where to read the writes back. */
export interface VerifyOptions {
    readonly host: string;
    readonly port: number;
    /** @default - no AUTH */
    readonly password?: string;
    /** The writer's `keyPrefix`. */
    readonly keyPrefix: string;
    readonly report: Pick<WriterReport, "acknowledgedSeqs">;
    /** Keys per MGET. @default 1000 */
    readonly batchSize?: number;
    /** Per MGET, in ms. @default 10000 */
    readonly timeoutMs?: number;
    /** @default 2000 */
    readonly connectTimeoutMs?: number;
}

/** What the read-back found. */
export interface VerifyReport {
    /** Acknowledged keys read back. */
    readonly checked: number;
    /** Acknowledged keys missing or holding another value. */
    readonly lostWrites: number;
    /** Their seqs, ascending. */
    readonly lostSeqs: number[];
}

// MGETs sent before waiting for the first reply: enough to hide the round trip, few enough
// that the last one's timeout does not run out while the server works through the others.
const BATCHES_IN_FLIGHT = 8;

/** Reads back every acknowledged key with pipelined MGETs and counts those missing or wrong. */
export async function verifyWrites(options: VerifyOptions): Promise<VerifyReport> {
    const { host, port, password, keyPrefix } = options;
    const batchSize = options.batchSize ?? 1000;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const seqs = options.report.acknowledgedSeqs;
    const client = await connect({ host, port, password, connectTimeoutMs: options.connectTimeoutMs ?? 2000, commandTimeoutMs: timeoutMs });
    const lostSeqs: number[] = [];
    try {
        const batches: number[][] = [];
        for (let i = 0; i < seqs.length; i += batchSize) batches.push(seqs.slice(i, i + batchSize));
        for (let i = 0; i < batches.length; i += BATCHES_IN_FLIGHT) {
            const group = batches.slice(i, i + BATCHES_IN_FLIGHT);
            const replies = await Promise.all(group.map((batch) => client.mget(batch.map((seq) => `${keyPrefix}:${seq}`))));
            group.forEach((batch, b) => {
                const values = replies[b];
                if (!Array.isArray(values) || values.length !== batch.length) {
                    throw new Error(`MGET of ${batch.length} keys answered ${JSON.stringify(values).slice(0, 80)}`);
                }
                batch.forEach((seq, k) => {
                    if (values[k] !== String(seq)) lostSeqs.push(seq);
                });
            });
        }
    } finally {
        client.disconnect();
    }
    lostSeqs.sort((a, b) => a - b);
    return { checked: seqs.length, lostWrites: lostSeqs.length, lostSeqs };
}
