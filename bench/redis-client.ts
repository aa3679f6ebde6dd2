/**
 * Redis connections for the benchmark's writer and verifier, the tests and the demo: the
 * `ioredis` client, set up so that the outcome of every command is the caller's to see.
 *
 * ioredis by default hides failures to keep an application going: it queues commands while
 * disconnected, reconnects on its own and resends what got no answer. A measuring client must
 * not: a write counts only when the server acknowledged it, and a write that got no answer must
 * count as failed, not be sent again later. So a connection here has no offline queue, no
 * reconnects and no retries, and its handshake is one round trip (AUTH over RESP2, no
 * CLIENT SETINFO, no INFO ready check), as short as a failover allows. A command that gets no
 * reply within the command timeout, or whose connection drops, rejects; the caller decides
 * whether to connect again (the writer does, through the VIP, so that after a failover it
 * reaches whichever host holds the VIP).
 *
 * @module
 */
import { Redis } from "ioredis";

export type { Redis };

/** Where and how to connect. */
export interface ConnectOptions {
    readonly host: string;
    readonly port: number;
    /** Sent with AUTH right after connecting. @default - no AUTH */
    readonly password?: string;
    /** Budget for the TCP connect and the AUTH together, in ms. */
    readonly connectTimeoutMs: number;
    /**
     * A command that gets no reply within this many ms rejects with `Command timed out` (the
     * connection stays open: the caller closes it when it no longer trusts it).
     * @default - no timeout
     */
    readonly commandTimeoutMs?: number;
}

/** A failed {@link connect}: the message starts with `connect to HOST:PORT: `; `code` is the socket's (ECONNREFUSED ...), if any. */
export class ConnectError extends Error {
    override name = "ConnectError";
    constructor(message: string, readonly code?: string, options?: ErrorOptions) {
        super(message, options);
    }
}

/**
 * Opens one connection and authenticates. Resolves once the server accepted AUTH; rejects with a
 * {@link ConnectError} when that fails or takes longer than `connectTimeoutMs`. Close it with
 * `disconnect()`; its `status` is `"ready"` while it is usable.
 */
export async function connect(options: ConnectOptions): Promise<Redis> {
    const { host, port, password, connectTimeoutMs, commandTimeoutMs } = options;
    const client = new Redis({
        host,
        port,
        password,
        lazyConnect: true,
        connectTimeout: connectTimeoutMs,
        commandTimeout: commandTimeoutMs,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        enableReadyCheck: false,
        autoResendUnfulfilledCommands: false,
        autoResubscribe: false,
        disableClientInfo: true,
        protocol: 2,
    });
    // ioredis reports socket and AUTH errors as events (and prints those nobody listens to);
    // the last one is why connect() failed, which itself only says the connection closed.
    let lastError: Error | undefined;
    client.on("error", (e: Error) => {
        lastError = e;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
        await Promise.race([
            client.connect(),
            new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error(`timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
            }),
        ]);
    } catch (e) {
        client.disconnect();
        const cause = lastError ?? (e as Error);
        const code = (cause as NodeJS.ErrnoException).code;
        throw new ConnectError(`connect to ${host}:${port}: ${code ?? cause.message}`, code, { cause });
    } finally {
        clearTimeout(timer);
    }
    return client;
}
