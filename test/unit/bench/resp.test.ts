import * as assert from "node:assert/strict";
import * as net from "node:net";
import { connect, encodeCommand, parseReply, RedisError, Reply } from "../../../bench/resp";

const open = new Set<net.Socket>();

/** A loopback server that answers each chunk it receives with `answer(chunk)`, if any. */
function fakeServer(answer: (chunk: string, socket: net.Socket) => string | undefined): Promise<net.Server> {
    return new Promise((resolve) => {
        const server = net.createServer((socket) => {
            open.add(socket);
            socket.on("close", () => open.delete(socket));
            socket.on("error", () => undefined);
            socket.on("data", (chunk) => {
                const out = answer(chunk.toString(), socket);
                if (out !== undefined) socket.write(out);
            });
        });
        server.listen(0, "127.0.0.1", () => resolve(server));
    });
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
function closeServer(server: net.Server): Promise<void> {
    for (const socket of open) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
}

async function elapsed<T>(work: Promise<T>): Promise<{ ms: number; error: unknown }> {
    const t = performance.now();
    try {
        await work;
        return { ms: performance.now() - t, error: undefined };
    } catch (error) {
        return { ms: performance.now() - t, error };
    }
}

describe("bench/resp", function () {
    this.timeout(10_000);
    const servers: net.Server[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map(closeServer));
    });
    async function serve(answer: Parameters<typeof fakeServer>[0]): Promise<number> {
        const s = await fakeServer(answer);
        servers.push(s);
        return portOf(s);
    }

    it("encodes a command as an array of bulk strings, counting bytes", function () {
        assert.equal(encodeCommand(["SET", "k:1", "é"]), "*3\r\n$3\r\nSET\r\n$3\r\nk:1\r\n$2\r\né\r\n");
    });

    it("parses every reply type, whatever the split of the bytes", function () {
        const wire = Buffer.from("*6\r\n+OK\r\n-ERR no\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n*-1\r\n$0\r\n\r\n");
        const whole = parseReply(wire, 0);
        assert.ok(whole);
        assert.equal(whole.end, wire.length);
        const [ok, err, int, bulk, nil, nested] = whole.reply as Reply[];
        assert.deepEqual([ok, int, bulk, nil, nested], ["OK", -42, "he\r\nl", null, [null, ""]]);
        assert.ok(err instanceof RedisError && err.message === "ERR no");
        for (let cut = 0; cut < wire.length; cut++) {
            assert.equal(parseReply(wire.subarray(0, cut), 0), undefined, `incomplete at ${cut}`);
        }
    });

    it("rejects bytes that are not RESP2", function () {
        assert.throws(() => parseReply(Buffer.from("hello\r\n"), 0), /not a RESP2 reply/);
        assert.throws(() => parseReply(Buffer.from("$x\r\n"), 0), /not a RESP2 integer/);
    });

    it("authenticates first, pipelines commands and matches replies in order, even byte by byte", async function () {
        const seen: string[] = [];
        let unsent = "";
        const port = await serve((chunk, socket) => {
            seen.push(chunk);
            const idle = unsent === "";
            unsent += (chunk.includes("AUTH") ? "+OK\r\n" : "") + (chunk.includes("INCR") ? ":1\r\n" : "") + (chunk.includes("GET") ? "$1\r\na\r\n" : "");
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
            assert.equal(seen[0], encodeCommand(["AUTH", "pw"]));
            const both = Promise.all([client.command(["INCR", "n"], 1000), client.command(["GET", "a"], 1000)]);
            assert.deepEqual(await both, [1, "a"]);
        } finally {
            client.close();
        }
    });

    it("rejects an error reply with a RedisError and keeps the connection", async function () {
        let n = 0;
        const port = await serve(() => (n++ === 0 ? "-WRONGTYPE bad\r\n" : "+PONG\r\n"));
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000 });
        try {
            await assert.rejects(client.command(["GET", "x"], 1000), (e) => e instanceof RedisError && /WRONGTYPE/.test(e.message));
            assert.equal(await client.command(["PING"], 1000), "PONG");
            assert.equal(client.closed, false);
        } finally {
            client.close();
        }
    });

    it("times out a command promptly, closes the connection and sends nothing after", async function () {
        let received = 0;
        const port = await serve(() => {
            received++;
            return undefined;
        });
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000 });
        const first = client.command(["SET", "a", "1"], 150);
        const second = client.command(["SET", "b", "2"], 5000);
        const r = await elapsed(first);
        assert.match(String(r.error), /SET timed out after 150 ms/);
        assert.ok(r.ms >= 140 && r.ms < 400, `${r.ms} ms`);
        await assert.rejects(second, /timed out/);
        assert.equal(client.closed, true);
        const before = received;
        await assert.rejects(client.command(["PING"], 1000), /timed out/);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(received, before);
    });

    it("rejects a command at once when the server drops the connection", async function () {
        const port = await serve((_chunk, socket) => {
            socket.destroy();
            return undefined;
        });
        const client = await connect({ host: "127.0.0.1", port, connectTimeoutMs: 1000 });
        const r = await elapsed(client.command(["SET", "a", "1"], 5000));
        assert.match(String(r.error), /connection closed by the server/);
        assert.ok(r.ms < 500, `${r.ms} ms`);
        assert.equal(client.closed, true);
    });

    it("fails to connect within the connect timeout when AUTH gets no answer", async function () {
        const port = await serve(() => undefined);
        const r = await elapsed(connect({ host: "127.0.0.1", port, password: "pw", connectTimeoutMs: 200 }));
        assert.match(String(r.error), /timed out after 200 ms \(no answer to AUTH\)/);
        assert.ok(r.ms >= 190 && r.ms < 500, `${r.ms} ms`);
    });

    it("fails to connect at once to a closed port", async function () {
        const port = await serve(() => undefined);
        await closeServer(servers.pop()!);
        const r = await elapsed(connect({ host: "127.0.0.1", port, connectTimeoutMs: 2000 }));
        assert.equal((r.error as NodeJS.ErrnoException).code, "ECONNREFUSED");
        assert.ok(r.ms < 500, `${r.ms} ms`);
    });

    it("rejects a wrong password with the server's error", async function () {
        const port = await serve(() => "-WRONGPASS invalid username-password pair\r\n");
        await assert.rejects(connect({ host: "127.0.0.1", port, password: "nope", connectTimeoutMs: 1000 }), RedisError);
    });
});
