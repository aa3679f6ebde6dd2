import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { waitFor } from "../../../lib/core/actions";
import { sh } from "../../../lib/core/shell";
import { cleanTempDirs, runShAsync, script, tempDir } from "./harness";

function listen(port = 0): Promise<net.Server> {
    return new Promise((resolve) => {
        const server = net.createServer((socket) => socket.destroy());
        server.listen(port, "127.0.0.1", () => resolve(server));
    });
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

/** A port nobody listens on (bound and released). */
async function freePort(): Promise<number> {
    const s = await listen();
    const port = portOf(s);
    await close(s);
    return port;
}

describe("core/actions/waitFor", function () {
    this.timeout(20_000);
    afterEach(cleanTempDirs);

    it("returns at once when the TCP port answers", async () => {
        const server = await listen();
        try {
            const state = path.join(tempDir(), "state");
            const r = await runShAsync(script(waitFor({ port: portOf(server), timeoutSeconds: 5, intervalSeconds: 1 }).forward, state));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout.toString(), new RegExp(`ready: TCP 127.0.0.1:${portOf(server)} to accept connections`));
        } finally {
            await close(server);
        }
    });

    it("keeps polling until the port starts answering", async () => {
        const port = await freePort();
        const state = path.join(tempDir(), "state");
        const started = Date.now();
        const waiting = runShAsync(script(waitFor({ port, host: "localhost", timeoutSeconds: 10, intervalSeconds: 1 }).forward, state));
        await new Promise((r) => setTimeout(r, 1500));
        const server = await listen(port);
        try {
            const r = await waiting;
            assert.strictEqual(r.status, 0, r.stderr);
            assert.ok(Date.now() - started >= 1500);
        } finally {
            await close(server);
        }
    });

    it("fails after the timeout naming host, port and check", async () => {
        const port = await freePort();
        const state = path.join(tempDir(), "state");
        const started = Date.now();
        const r = await runShAsync(script(waitFor({ port, check: "false", timeoutSeconds: 2, intervalSeconds: 1 }).forward, state));
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, new RegExp(`gave up after 2 s waiting for TCP 127.0.0.1:${port} to accept connections and check \`false\` to pass`));
        assert.ok(Date.now() - started >= 2000);
        assert.ok(Date.now() - started < 8000);
    });

    it("waits for a check command alone", async () => {
        const root = tempDir();
        const ready = path.join(root, "ready");
        setTimeout(() => fs.writeFileSync(ready, ""), 1200);
        const r = await runShAsync(script(waitFor({ check: sh`test -e ${ready}`, timeoutSeconds: 10, intervalSeconds: 1 }).forward, path.join(root, "state")));
        assert.strictEqual(r.status, 0, r.stderr);
    });

    it("bounds a hanging check by the attempt time limit", async () => {
        const state = path.join(tempDir(), "state");
        const started = Date.now();
        const r = await runShAsync(script(waitFor({ check: "sleep 60", timeoutSeconds: 2, intervalSeconds: 1 }).forward, state));
        assert.strictEqual(r.status, 1);
        assert.ok(Date.now() - started < 10_000);
    });

    it("has a no-op inverse", () => assert.strictEqual(waitFor({ port: 22, timeoutSeconds: 1, intervalSeconds: 1 }).inverse.trim(), ":"));

    it("rejects a wait for nothing and invalid values in one error", () => {
        assert.throws(() => waitFor({ timeoutSeconds: 0, intervalSeconds: 1 }), /waitFor.timeoutSeconds: must be a whole number of seconds from 1 to 86400 \(got 0\)\n {2}- waitFor: needs a port, a check or both/);
        assert.throws(() => waitFor({ port: 0, host: "-oProxyCommand=x", timeoutSeconds: 1, intervalSeconds: 1 }), /waitFor.port: .*\n.*waitFor.host: must be an IPv4 address/);
        assert.throws(() => waitFor({ check: " ", timeoutSeconds: 1, intervalSeconds: 1 }), /waitFor.check: must be a non-empty shell command/);
    });
});
