/**
 * A minimal Redis client (RESP2) over `node:net`, for the benchmark's writer and verifier.
 *
 * One connection, no reconnects, no offline queue: a command that times out, or whose
 * connection drops, rejects at once together with every other command in flight on that
 * connection, and every later command rejects without being sent. The caller sees each
 * failure and decides whether to connect again.
 *
 * @module
 */
import * as net from "node:net";

/**
 * A decoded reply: simple and bulk strings as strings, integers as numbers, nil bulk strings
 * and nil arrays as `null`, arrays as arrays. An error reply at the top level rejects the
 * command; inside an array (e.g. EXEC) it stays an element, as a {@link RedisError}.
 */
export type Reply = string | number | null | RedisError | Reply[];

/** An error reply from the server (`-ERR ...`, `-READONLY ...`). The connection stays usable. */
export class RedisError extends Error {
    override name = "RedisError";
}

/** Where and how to connect. */
export interface ConnectOptions {
    readonly host: string;
    readonly port: number;
    /** Sent with AUTH right after connecting. @default - no AUTH */
    readonly password?: string;
    /** Budget for the TCP connect and the AUTH together, in ms. */
    readonly connectTimeoutMs: number;
}

/** An open connection. */
export interface RedisClient {
    /**
     * Sends `args` as an array of bulk strings and resolves with the reply. Rejects with a
     * {@link RedisError} on an error reply; rejects with an Error, and closes the connection,
     * when no reply arrives within `timeoutMs` or the connection drops. Commands may be
     * pipelined: replies are matched in order.
     */
    command(args: readonly string[], timeoutMs: number): Promise<Reply>;
    /** Closes the connection; commands in flight reject. Idempotent. */
    close(): void;
    /** True once the connection is closed, by either side or by a timeout. */
    readonly closed: boolean;
}

/** Opens a connection and authenticates; rejects when that takes longer than `connectTimeoutMs`. */
export function connect(options: ConnectOptions): Promise<RedisClient> {
    const { host, port, password, connectTimeoutMs } = options;
    const deadline = performance.now() + connectTimeoutMs;
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        socket.setNoDelay(true);
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms`));
        }, connectTimeoutMs);
        const refused = (e: Error) => {
            clearTimeout(timer);
            socket.destroy();
            reject(e);
        };
        socket.once("error", refused);
        socket.once("connect", () => {
            clearTimeout(timer);
            socket.removeListener("error", refused);
            const client = new Connection(socket);
            if (password === undefined) return resolve(client);
            client.command(["AUTH", password], Math.max(1, deadline - performance.now())).then(
                () => resolve(client),
                (e: Error) => {
                    client.close();
                    if (e instanceof RedisError) reject(e);
                    else if (e instanceof TimedOut) reject(new Error(`connect to ${host}:${port} timed out after ${connectTimeoutMs} ms (no answer to AUTH)`));
                    else reject(new Error(`connect to ${host}:${port}: AUTH: ${e.message}`));
                },
            );
        });
    });
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): string {
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    return out;
}

/**
 * Decodes one reply starting at `start`. Returns the reply and the offset just past it, or
 * `undefined` when `buffer` does not yet hold the whole reply.
 *
 * @throws Error on bytes that are not RESP2
 */
export function parseReply(buffer: Buffer, start: number): { reply: Reply; end: number } | undefined {
    const eol = buffer.indexOf("\r\n", start);
    if (eol < 0) return undefined;
    const line = buffer.toString("utf8", start + 1, eol);
    const next = eol + 2;
    switch (buffer[start]) {
        case 0x2b: // +
            return { reply: line, end: next };
        case 0x2d: // -
            return { reply: new RedisError(line), end: next };
        case 0x3a: // :
            return { reply: lengthOrInteger(line), end: next };
        case 0x24: { // $
            const n = lengthOrInteger(line);
            if (n < 0) return { reply: null, end: next };
            if (buffer.length < next + n + 2) return undefined;
            return { reply: buffer.toString("utf8", next, next + n), end: next + n + 2 };
        }
        case 0x2a: { // *
            const n = lengthOrInteger(line);
            if (n < 0) return { reply: null, end: next };
            const items: Reply[] = [];
            let at = next;
            for (let i = 0; i < n; i++) {
                const item = parseReply(buffer, at);
                if (item === undefined) return undefined;
                items.push(item.reply);
                at = item.end;
            }
            return { reply: items, end: at };
        }
        default:
            throw new Error(`not a RESP2 reply: ${JSON.stringify(buffer.toString("utf8", start, Math.min(eol, start + 40)))}`);
    }
}

function lengthOrInteger(text: string): number {
    if (!/^-?\d+$/.test(text)) throw new Error(`not a RESP2 integer: ${JSON.stringify(text.slice(0, 40))}`);
    return Number(text);
}

// Told apart from other failures so connect can say that AUTH got no answer in time.
class TimedOut extends Error {}

interface Waiter {
    readonly resolve: (reply: Reply) => void;
    readonly reject: (e: Error) => void;
    readonly timer: NodeJS.Timeout;
}

class Connection implements RedisClient {
    private readonly waiting: Waiter[] = [];
    private unread: Buffer = Buffer.alloc(0);
    private failure: Error | undefined;

    constructor(private readonly socket: net.Socket) {
        socket.on("data", (chunk: Buffer) => this.read(chunk));
        socket.on("error", (e) => this.fail(e));
        socket.on("close", () => this.fail(new Error("connection closed by the server")));
    }

    get closed(): boolean {
        return this.failure !== undefined;
    }

    command(args: readonly string[], timeoutMs: number): Promise<Reply> {
        if (this.failure !== undefined) return Promise.reject(this.failure);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => this.fail(new TimedOut(`${args[0] ?? "command"} timed out after ${timeoutMs} ms`)),
                timeoutMs,
            );
            this.waiting.push({ resolve, reject, timer });
            this.socket.write(encodeCommand(args));
        });
    }

    close(): void {
        this.fail(new Error("connection closed by the client"));
    }

    private read(chunk: Buffer): void {
        this.unread = this.unread.length === 0 ? chunk : Buffer.concat([this.unread, chunk]);
        let at = 0;
        try {
            for (;;) {
                const parsed = parseReply(this.unread, at);
                if (parsed === undefined) break;
                at = parsed.end;
                const waiter = this.waiting.shift();
                if (waiter === undefined) throw new Error("a reply nobody asked for");
                clearTimeout(waiter.timer);
                if (parsed.reply instanceof RedisError) waiter.reject(parsed.reply);
                else waiter.resolve(parsed.reply);
            }
        } catch (e) {
            this.fail(e as Error);
            return;
        }
        this.unread = this.unread.subarray(at);
    }

    // After a timeout or a protocol error the stream's position is unknown: a late reply
    // would answer the wrong command, so the whole connection goes.
    private fail(e: Error): void {
        if (this.failure !== undefined) return;
        this.failure = e;
        this.socket.destroy();
        for (const w of this.waiting.splice(0)) {
            clearTimeout(w.timer);
            w.reject(e);
        }
    }
}
