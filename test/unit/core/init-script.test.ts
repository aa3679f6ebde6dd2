import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sysvInitScript } from "../../../lib/core/init-script";
import { sh } from "../../../lib/core/shell";
import { runSh } from "./harness";

/**
 * Writes the rendered script to a temporary directory under the service's name, as
 * /etc/init.d/<service> is (its shell's comm is that name), and runs `<script> start`.
 */
function start(args: Parameters<typeof sysvInitScript>[0]) {
    const started = Date.now();
    const script = path.join(path.dirname(args.pidFile), args.service);
    fs.writeFileSync(script, sysvInitScript(args), { mode: 0o755 });
    const r = runSh(sh`${script} start`);
    return { ...r, seconds: (Date.now() - started) / 1000 };
}

describe("core/init-script", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "mw-init-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("fails a start whose daemon is gone at once when startFailsWithoutProcess is set, not after startTimeoutSeconds", () => {
        // `true` exits without a pid file and no process has this name: a daemon that died on its port.
        // The service is named as its daemon (fdfs_storaged's is): the script's own shell must not count.
        const r = start({ service: "mw-gone-dmn", description: "gone", start: "        true", pidFile: path.join(dir, "gone.pid"), processName: "mw-gone-dmn", startTimeoutSeconds: 30, startFailsWithoutProcess: true });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /mw-gone-dmn did not start: no mw-gone-dmn process runs/);
        assert.ok(r.seconds < 5, `failed after ${r.seconds} s`);
    });

    it("waits startTimeoutSeconds for a pid file without it (default 10 s; here 2 s)", () => {
        const r = start({ service: "slow", description: "slow", start: "        true", pidFile: path.join(dir, "slow.pid"), processName: "mw-no-such-dmn", startTimeoutSeconds: 2 });
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /^slow did not start$/m);
        assert.ok(r.seconds >= 2, `gave up after ${r.seconds} s`);
    });

    it("starts a daemon that writes its pid file late, while its process runs", () => {
        // A shell in the background named by its comm ("sh"): writes its pid after 1.5 s, then lives on.
        const pidFile = path.join(dir, "late.pid");
        const r = start({ service: "late", description: "late", start: sh`        (sleep 1.5; echo $(exec sh -c 'echo $PPID') >${pidFile}; exec sleep 30) >/dev/null 2>&1 &`, pidFile, startTimeoutSeconds: 10 });
        try {
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout.toString(), /late started \(pid \d+\)/);
            assert.ok(r.seconds >= 1.5, `started after ${r.seconds} s`);
        } finally {
            const pid = Number(fs.readFileSync(pidFile, "utf8"));
            if (pid > 1) process.kill(pid);
        }
    });

    it("with startFailsWithoutProcess, waits for a daemon that writes its pid file late while its executable runs", () => {
        // The daemon is `sleep` (its executable's name), alive from the start, its pid file after 2.5 s:
        // two of the per-second checks pass before it.
        const pidFile = path.join(dir, "late.pid");
        const r = start({ service: "sleep", description: "late sleep", start: sh`        (sleep 2.5; echo $(exec sh -c 'echo $PPID') >${pidFile}; exec sleep 30) >/dev/null 2>&1 &`, pidFile, processName: "sleep", startTimeoutSeconds: 10, startFailsWithoutProcess: true });
        try {
            assert.strictEqual(r.status, 0, r.stderr);
            assert.ok(r.seconds >= 2.5, `started after ${r.seconds} s`);
        } finally {
            const pid = Number(fs.readFileSync(pidFile, "utf8"));
            if (pid > 1) process.kill(pid);
        }
    });

    it("refuses startFailsWithoutProcess without a processName", () => {
        assert.throws(() => sysvInitScript({ service: "x", description: "x", start: "true", pidFile: "/run/x.pid", startFailsWithoutProcess: true }), /needs a processName/);
    });
});
