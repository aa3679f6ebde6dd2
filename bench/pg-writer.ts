/**
 * The PostgreSQL measuring client: commits one row per write through the VIP at a steady pace
 * while an operation runs, then tells the longest stretch without an acknowledged commit (the
 * write gap) and which acknowledged commits the primary no longer has (lost commits). It uses
 * `pg`, the kept client library.
 *
 * @module
 */
import { Client } from "pg";
import { downtime } from "./writer";

/** Where to commit and how often. */
export interface PgWriterOptions {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
    /** Rows are `(writer, seq)` in table `events`; use a fresh label per run. */
    readonly label: string;
    /** Pause between the starts of two commits, in ms. @default 10 */
    readonly intervalMs?: number;
    /** A commit with no reply after this many ms counts as failed. @default 1000 */
    readonly requestTimeoutMs?: number;
    /** Budget of each (re)connect, in ms. @default 500 */
    readonly connectTimeoutMs?: number;
}

/** What a writer saw, from start to stop. Times are `performance.now()` ms. */
export interface PgWriterReport {
    readonly attempts: number;
    readonly acknowledged: number;
    readonly acknowledgedSeqs: number[];
    readonly ackTimes: number[];
    /** Longest time without an acknowledged commit, counting from start and until stop. */
    readonly writeGapMs: number;
    readonly gapFrom: number;
    readonly gapTo: number;
    /** Failures by cause, e.g. `{ "ECONNREFUSED": 12 }`. */
    readonly failures: Record<string, number>;
    /** Commits sent whose outcome the client never learned (they may have been applied). */
    readonly inDoubt: number;
    readonly startedAt: number;
    readonly stoppedAt: number;
}

/** A running writer. */
export interface PgWriter {
    stop(): Promise<PgWriterReport>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cause(e: unknown): string {
    const err = e as { code?: string; message?: string };
    const message = err.message ?? String(e);
    if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) return `${err.code} ${message.slice(0, 60)}`;
    return err.code ?? message.slice(0, 80);
}

/** Starts committing at once; `stop()` ends it and reports. */
export function startPgWriter(o: PgWriterOptions): PgWriter {
    const interval = o.intervalMs ?? 10;
    const acknowledgedSeqs: number[] = [];
    const ackTimes: number[] = [];
    const failures: Record<string, number> = {};
    let attempts = 0;
    let inDoubt = 0;
    let stopping = false;
    let client: Client | undefined;
    const startedAt = performance.now();
    const fail = (why: string) => (failures[why] = (failures[why] ?? 0) + 1);

    async function connect(): Promise<Client> {
        const c = new Client({
            host: o.host, port: o.port, database: o.database, user: o.user, password: o.password,
            connectionTimeoutMillis: o.connectTimeoutMs ?? 500, query_timeout: o.requestTimeoutMs ?? 1000,
        });
        c.on("error", () => undefined);
        await c.connect();
        return c;
    }

    async function run(): Promise<void> {
        while (!stopping) {
            const began = performance.now();
            const seq = ++attempts;
            let sent = false;
            try {
                client ??= await connect();
                sent = true;
                await client.query("INSERT INTO events (writer, seq) VALUES ($1, $2)", [o.label, seq]);
                acknowledgedSeqs.push(seq);
                ackTimes.push(performance.now());
            } catch (e) {
                fail(cause(e));
                // An error from the server (a SQLSTATE) means the commit was refused; anything else
                // (timeout, dropped connection) leaves it in doubt.
                if (sent && !/^[0-9A-Z]{5}\b/.test(cause(e))) inDoubt++;
                const c = client;
                client = undefined;
                c?.end().catch(() => undefined);
            }
            const wait = interval - (performance.now() - began);
            if (wait > 0) await sleep(wait);
        }
    }

    const running = run();
    return {
        async stop() {
            stopping = true;
            await running;
            await client?.end().catch(() => undefined);
            const stoppedAt = performance.now();
            const gap = downtime(ackTimes, startedAt, stoppedAt);
            return {
                attempts, acknowledged: acknowledgedSeqs.length, acknowledgedSeqs, ackTimes,
                writeGapMs: gap.ms, gapFrom: gap.from, gapTo: gap.to, failures, inDoubt, startedAt, stoppedAt,
            };
        },
    };
}

/** What {@link verifyPgWrites} found on the primary. */
export interface PgVerifyReport {
    /** Acknowledged commits whose row is missing. */
    readonly lostCommits: number;
    /** Rows present that the client saw no acknowledgement for (in doubt, applied). */
    readonly unacknowledgedPresent: number;
    readonly present: number;
}

/** Counts the acknowledged commits of a writer that are missing on the primary behind `host`. */
export async function verifyPgWrites(o: Omit<PgWriterOptions, "intervalMs">, report: PgWriterReport): Promise<PgVerifyReport> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
        const c = new Client({ host: o.host, port: o.port, database: o.database, user: o.user, password: o.password, connectionTimeoutMillis: 2000 });
        c.on("error", () => undefined);
        try {
            await c.connect();
            const rows = (await c.query("SELECT seq FROM events WHERE writer = $1", [o.label])).rows as { seq: string }[];
            const present = new Set(rows.map((r) => Number(r.seq)));
            const acked = new Set(report.acknowledgedSeqs);
            return {
                lostCommits: report.acknowledgedSeqs.filter((s) => !present.has(s)).length,
                unacknowledgedPresent: [...present].filter((s) => !acked.has(s)).length,
                present: present.size,
            };
        } catch (e) {
            lastError = e;
            await sleep(500);
        } finally {
            await c.end().catch(() => undefined);
        }
    }
    throw new Error(`cannot read the writer's rows through ${o.host}: ${(lastError as Error).message}`);
}
