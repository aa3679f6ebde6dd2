import * as assert from "node:assert/strict";
import * as net from "node:net";
import { ReplyError } from "ioredis";
import { connect, ConnectError } from "../../../bench/redis-client";

/*
 * The settings bench/redis-client gives ioredis, against loopback servers that answer (or not)
 * as the test says: what the writer's figures depend on is that every command's outcome is
 * seen at once, nothing is queued, retried or resent, and the handshake is one round trip.
 */

const open = new Set<net.Socket>();

/** A loopback server that answers each chunk it receives with `answer(chunk)`, if any; counts its connections. */
function fakeServer(answer: (chunk: string, socket: net.Socket) => string | undefined): Promise<net.Server & { connections: number }> {
    return new Promise((resolve) => {
        const server = Object.assign(
            net.createServer((socket) => {
                server.connections++;
                open.add(socket);
                socket.on("close", () => open.delete(socket));
                socket.on("error", () => undefined);
                socket.on("data", (chunk) => {
                    const out = answer(chunk.toString(), socket);
                    if (out !== undefined) socket.write(out);
                });
            }),
            { connections: 0 },
        );
        server.listen(0, "127.0.0.1", () => resolve(server));
    });
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
function closeServer(server: net.Server): Promise<void> {
    for (const socket of open) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function elapsed<T>(work: Promise<T>): Promise<{ ms: number; error: unknown }> {
    const t = performance.now();
    try {
        await work;
        return { ms: performance.now() - t, error: undefined };
    } catch (error) {
        return { ms: performance.now() - t, error };
    }
}

describe("bench/redis-client (ioredis, set up for measuring)", function () {
    this.timeout(10_000);
    const servers: net.Server[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map(closeServer));
    });
    async function serve(answer: Parameters<typeof fakeServer>[0]): Promise<{ port: number; server: net.Server & { connections: number } }> {
        const server = await fakeServer(answer);
        servers.push(server);
        return { port: portOf(server), server };
    }

    it("sends AUTH alone as its handshake (RESP2, one round trip) and matches pipelined replies in order, even byte by byte", async function () {
        const seen: string[] = [];
        let unsent = "";
        const { port } = await serve((chunk, socket) => {
            seen.push(chunk);
            const idle = unsent === "";
            unsent += (/auth/i.test(chunk) ? "+OK\r\n" : "") + (/incr/i.test(chunk) ? ":1\r\n" : "") + (/\bget\b/i.test(chunk) ? "$1\r\na\r\n" : "");
            // one byte per write, so the client must reassemble replies across chunks
            const drip = () => {
                if (unsent !== "" && !socket.destroyed) {
                    socket.write(unsent[0]);
                    unsent = unsent.slice(1);
                    setTimeout(drip, 1);
                }
            };
            if (idle) drip();
            return undefined;
        });
        const client = await connect({ host: "127.0.0.1", port, password: "pw", connectTimeoutMs: 1000 });
        try {
            assert.match(seen.join(""), /^\*2\r\n\$4\r\nauth\r\n\$2\r\npw\r\n$/i, "no HELLO, CLIENT SETINFO or INFO before the caller's commands");
            assert.deepEqual(await Promise.all([client.incr("n"), client.get("a")]), [1, "a"]);
        } finally {
            client.disconnect();
        }
    });

    it("rejects an error reply with the server's error and keeps the connection", async function () {
        let n = 0;
        const { port } = await serve(() => (n++ === 0 ? "-READONLY You can't write against a read only replica.\r\n" : "+PONG\r\n"));
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000 });
        try {
            await assert.rejects(client.set("x", "1"), (e: Error) => e instanceof ReplyError && /^READONLY/.test(e.message));
            assert.equal(await client.ping(), "PONG");
            assert.equal(client.status, "ready");
        } finally {
            client.disconnect();
        }
    });

    it("times a command out promptly (the writer's 1 s, here 150 ms) and never sends it again", async function () {
        let received = 0;
        const { port, server } = await serve(() => {
            received++;
            return undefined;
        });
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000, commandTimeoutMs: 150 });
        try {
            const r = await elapsed(client.set("a", "1"));
            assert.match(String(r.error), /Command timed out/);
            assert.ok(r.ms >= 140 && r.ms < 400, `${r.ms} ms`);
            await sleep(300);
            assert.equal(received, 1, "the timed-out SET was sent once");
            assert.equal(server.connections, 1);
        } finally {
            client.disconnect();
        }
    });

    it("rejects a command at once when the server drops the connection, and neither reconnects nor queues", async function () {
        const { port, server } = await serve((_chunk, socket) => {
            socket.destroy();
            return undefined;
        });
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000, commandTimeoutMs: 5000 });
        const r = await elapsed(client.set("a", "1"));
        assert.match(String(r.error), /Connection is closed/);
        assert.ok(r.ms < 500, `${r.ms} ms`);
        await sleep(300);
        assert.equal(client.status, "end");
        assert.equal(server.connections, 1, "no reconnect");
        const later = await elapsed(client.set("b", "2"));
        assert.ok(later.error instanceof Error && later.ms < 50, "a command on a closed connection fails at once instead of waiting in a queue");
        assert.equal(server.connections, 1);
    });

    it("fails to connect within the connect timeout when AUTH gets no answer", async function () {
        const { port } = await serve(() => undefined);
        const r = await elapsed(connect({ host: "127.0.0.1", port, password: "pw", connectTimeoutMs: 200 }));
        assert.ok(r.error instanceof ConnectError, String(r.error));
        assert.match(r.error.message, new RegExp(`^connect to 127\\.0\\.0\\.1:${port}: timed out after 200 ms$`));
        assert.ok(r.ms >= 190 && r.ms < 500, `${r.ms} ms`);
    });

    it("fails to connect at once to a closed port, with the socket's code", async function () {
        const { port, server } = await serve(() => undefined);
        await closeServer(servers.splice(servers.indexOf(server), 1)[0]);
        const r = await elapsed(connect({ host: "127.0.0.1", port, connectTimeoutMs: 2000 }));
        assert.ok(r.error instanceof ConnectError, String(r.error));
        assert.equal(r.error.code, "ECONNREFUSED");
        assert.equal(r.error.message, `connect to 127.0.0.1:${port}: ECONNREFUSED`);
        assert.ok(r.ms < 500, `${r.ms} ms`);
    });

    it("rejects a wrong password with the server's error", async function () {
        const { port } = await serve(() => "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        const r = await elapsed(connect({ host: "127.0.0.1", port, password: "nope", connectTimeoutMs: 1000 }));
        assert.ok(r.error instanceof ConnectError, String(r.error));
        assert.match(r.error.message, /^connect to 127\.0\.0\.1:\d+: WRONGPASS invalid username-password pair/);
        assert.ok(r.ms < 500, `${r.ms} ms`);
    });
});
