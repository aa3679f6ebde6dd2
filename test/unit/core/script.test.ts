import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    DEFAULT_STATE_DIR, LOCK_BUSY_EXIT_CODE, NO_SECRET_EXIT_CODE, readSecretFromStdin, remoteCommand, renderScript, STDIN_DIR,
    TIMED_OUT_EXIT_CODE,
} from "../../../lib/core/script";
import { sh } from "../../../lib/core/shell";
import { ConfigError } from "../../../lib/core/validate";
import { cleanTempDirs, journal, runSh, runShAsync, tempDir } from "./harness";

/** UTC with nanoseconds: lines of hosts sharing one clock sort by this field as text. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

function render(body: string, stateDir: string, extra: { lockTimeoutSeconds?: number; direction?: "forward" | "inverse" } = {}) {
    return renderScript({ component: "redis-ha", step: "stop-master", direction: extra.direction ?? "forward", body, stateDir, lockTimeoutSeconds: extra.lockTimeoutSeconds });
}

/** Holds the host lock of `stateDir` for `seconds` in a separate process; resolves once held. */
async function holdLock(stateDir: string, seconds: number): Promise<() => void> {
    fs.mkdirSync(stateDir, { recursive: true });
    const child = spawn("flock", [path.join(stateDir, "lock"), "sh", "-c", `echo held; sleep ${seconds}`]);
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    return () => { child.kill("SIGKILL"); };
}

describe("core/script", () => {
    afterEach(cleanTempDirs);

    it("starts with #!/bin/sh, set -eu and umask 022, and defaults to /var/lib/middleware", () => {
        const s = renderScript({ component: "c", step: "s", direction: "forward", body: "true" });
        assert.deepStrictEqual(s.split("\n").filter((l) => !l.startsWith("#")).slice(0, 3), ["set -eu", "umask 022", `MW_STATE_DIR='${DEFAULT_STATE_DIR}'`]);
        assert.ok(s.startsWith("#!/bin/sh\n"));
        assert.match(s, /flock -w '600' 9/);
    });

    it("parses with dash -n for every direction", () => {
        for (const direction of ["forward", "inverse"] as const) {
            const r = runSh(`sh -n -c ${sh`${renderScript({ component: "c", step: "s", direction, body: "true" })}`}`);
            assert.strictEqual(r.status, 0, r.stderr);
        }
    });

    it("runs the body and appends one tab-separated journal line: time, component, step, direction, ok", () => {
        const state = path.join(tempDir(), "state");
        const r = runSh(render("echo hello", state));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout.toString(), "hello\n");
        const lines = journal(state);
        assert.strictEqual(lines.length, 1);
        const [time, ...rest] = lines[0];
        assert.match(time, ISO_UTC);
        assert.ok(Math.abs(Date.parse(time) - Date.now()) < 60_000);
        assert.deepStrictEqual(rest, ["redis-ha", "stop-master", "forward", "ok"]);
    });

    it("journals the inverse direction and one line per run", () => {
        const state = path.join(tempDir(), "state");
        runSh(render("true", state));
        runSh(render("true", state, { direction: "inverse" }));
        assert.deepStrictEqual(journal(state).map((l) => l.slice(3)), [["forward", "ok"], ["inverse", "ok"]]);
    });

    it("stamps lines with nanoseconds, so runs in quick succession (as on hosts of one machine) sort in run order", () => {
        const state = path.join(tempDir(), "state");
        const other = path.join(tempDir(), "other-host");
        // Alternate between two state dirs, like two hosts sharing the machine's clock.
        for (let i = 0; i < 6; i++) {
            const r = runSh(renderScript({ component: "c", step: `s${i}`, direction: "forward", body: "true", stateDir: i % 2 ? other : state }));
            assert.strictEqual(r.status, 0, r.stderr);
        }
        const merged = [...journal(state), ...journal(other)];
        for (const [time] of merged) assert.match(time, ISO_UTC);
        const byTime = [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((l) => l[2]);
        assert.deepStrictEqual(byTime, ["s0", "s1", "s2", "s3", "s4", "s5"]);
        assert.strictEqual(new Set(merged.map((l) => l[0])).size, 6, "no two runs share a time stamp");
    });

    it("set -e: a failing command stops the body, exits with its code and journals failed(N)", () => {
        const state = path.join(tempDir(), "state");
        const r = runSh(render("echo before\nsh -c 'exit 7'\necho after", state));
        assert.strictEqual(r.status, 7);
        assert.strictEqual(r.stdout.toString(), "before\n");
        assert.deepStrictEqual(journal(state).map((l) => l[4]), ["failed(7)"]);
    });

    it("set -u: an unset variable fails the body", () => {
        const state = path.join(tempDir(), "state");
        const r = runSh(render('echo "$NOT_SET_ANYWHERE"\necho after', state));
        assert.notStrictEqual(r.status, 0);
        assert.strictEqual(r.stdout.toString(), "");
        assert.match(journal(state)[0][4], /^failed\(\d+\)$/);
    });

    it("an explicit exit in the body is journaled with its code", () => {
        const state = path.join(tempDir(), "state");
        assert.strictEqual(runSh(render("exit 3", state)).status, 3);
        assert.strictEqual(runSh(render("exit 0", state)).status, 0);
        assert.deepStrictEqual(journal(state).map((l) => l[4]), ["failed(3)", "ok"]);
    });

    it("journals failed(143) when the script is terminated", async () => {
        const state = path.join(tempDir(), "state");
        const child = spawn("/bin/sh", ["-c", render("echo started; while :; do sleep 0.1; done", state)]);
        await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
        const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        child.kill("SIGTERM");
        assert.strictEqual(await closed, 143);
        assert.deepStrictEqual(journal(state).map((l) => l[4]), ["failed(143)"]);
    });

    it("fails with a clear message and exit 75 when another run holds the lock past the timeout", async function () {
        this.timeout(20_000);
        const state = path.join(tempDir(), "state");
        const release = await holdLock(state, 10);
        try {
            const started = Date.now();
            const r = await runShAsync(render("echo must-not-run", state, { lockTimeoutSeconds: 1 }));
            assert.strictEqual(r.status, LOCK_BUSY_EXIT_CODE);
            assert.strictEqual(r.stdout.toString(), "");
            assert.match(r.stderr, new RegExp(`another run holds ${state}/lock on this host; gave up after 1 s`));
            assert.ok(Date.now() - started >= 900);
            assert.deepStrictEqual(journal(state).map((l) => l[4]), [`failed(${LOCK_BUSY_EXIT_CODE})`]);
        } finally {
            release();
        }
    });

    it("waits for the lock and runs once it is released", async function () {
        this.timeout(20_000);
        const state = path.join(tempDir(), "state");
        fs.mkdirSync(state, { recursive: true });
        const holder = runShAsync(`flock ${path.join(state, "lock")} sleep 1`);
        await new Promise((r) => setTimeout(r, 200));
        const r = await runShAsync(render("echo ran", state, { lockTimeoutSeconds: 10 }));
        await holder;
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(r.stdout.toString(), "ran\n");
    });

    it("does not let a daemon started by the body keep the lock", async function () {
        this.timeout(20_000);
        const state = path.join(tempDir(), "state");
        const first = await runShAsync(render("sleep 5 >/dev/null 2>&1 </dev/null &", state));
        assert.strictEqual(first.status, 0, first.stderr);
        const second = await runShAsync(render("echo second", state, { lockTimeoutSeconds: 1 }));
        assert.strictEqual(second.status, 0, second.stderr);
    });

    it("rejects invalid component, step, state dir and timeout with one error naming each", () => {
        assert.throws(
            () => renderScript({ component: "a b", step: "$(id)", direction: "forward", body: "", stateDir: "var/../x", lockTimeoutSeconds: -1 }),
            (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.deepStrictEqual(e.problems.map((p) => p.path), ["component", "step", "stateDir", "stateDir", "lockTimeoutSeconds"]);
                return true;
            });
    });

    describe("a forward script that undoes itself", () => {
        const withUndo = (body: string, undo: string, state: string, extra: { timeoutSeconds?: number; lockTimeoutSeconds?: number } = {}) =>
            renderScript({ component: "c", step: "s", host: "h1", direction: "forward", body, undo, stateDir: state, ...extra });
        const stdinFiles = () => (fs.existsSync(STDIN_DIR) ? fs.readdirSync(STDIN_DIR) : []);

        it("runs the undo with the same stdin when the body fails, journals both, and exits with the body's code", () => {
            const state = path.join(tempDir(), "state");
            const before = stdinFiles();
            const r = runSh(withUndo(`${readSecretFromStdin("S")}echo "did $S"\nexit 4`, `${readSecretFromStdin("S")}echo "undid $S"`, state), "pw-1\n");
            assert.strictEqual(r.status, 4);
            assert.strictEqual(r.stdout.toString(), "did pw-1\nundid pw-1\n");
            assert.match(r.stderr, /middleware: c\/s on h1: forward action failed with exit code 4/);
            assert.match(r.stderr, /c\/s on h1: its inverse ran and undid what it had done/);
            assert.deepStrictEqual(journal(state).map((l) => l.slice(3)), [["forward", "failed(4)"], ["inverse", "ok"]]);
            assert.deepStrictEqual(stdinFiles(), before, "the kept stdin is removed");
        });

        it("says so when the undo fails too, and still exits with the body's code", () => {
            const state = path.join(tempDir(), "state");
            const r = runSh(withUndo("exit 5", "false\necho not-reached", state));
            assert.strictEqual(r.status, 5);
            assert.strictEqual(r.stdout.toString(), "");
            assert.match(r.stderr, /undoing it failed too \(exit 1\); the host needs a look/);
            assert.deepStrictEqual(journal(state).map((l) => l.slice(3)), [["forward", "failed(5)"], ["inverse", "failed(1)"]]);
        });

        it("does not undo a body that succeeded, nor a run that never got the lock", async function () {
            this.timeout(20_000);
            const state = path.join(tempDir(), "state");
            const ok = runSh(withUndo("echo done", "echo undone", state));
            assert.strictEqual(ok.stdout.toString(), "done\n");
            const release = await holdLock(state, 10);
            try {
                const busy = await runShAsync(withUndo("echo must-not-run", "echo must-not-undo", state, { lockTimeoutSeconds: 1 }));
                assert.strictEqual(busy.status, LOCK_BUSY_EXIT_CODE);
                assert.strictEqual(busy.stdout.toString(), "");
            } finally {
                release();
            }
            assert.deepStrictEqual(journal(state).map((l) => l[4]), ["ok", `failed(${LOCK_BUSY_EXIT_CODE})`]);
        });

        it("stops the body and its children at the time limit (as the leader of its process group), then undoes", async function () {
            this.timeout(20_000);
            const state = path.join(tempDir(), "state");
            const started = Date.now();
            const r = await runShAsync(`exec setsid -w /bin/sh -c ${sh`${withUndo("echo started; sleep 37; echo never", "echo undone", state, { timeoutSeconds: 1 })}`}`);
            assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
            assert.strictEqual(r.status, TIMED_OUT_EXIT_CODE);
            assert.strictEqual(r.stdout.toString(), "started\nundone\n");
            assert.match(r.stderr, /c\/s on h1 did not finish within 1 s and was stopped/);
            assert.strictEqual(runSh("pgrep -f '[s]leep 37' || :").stdout.toString(), "");
        });

        it("ends its watchdog when the body finishes in time", async function () {
            const state = path.join(tempDir(), "state");
            const started = Date.now();
            const r = await runShAsync(`exec setsid -w /bin/sh -c ${sh`${withUndo("echo quick", "echo undone", state, { timeoutSeconds: 31 })}`}`);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.ok(Date.now() - started < 3000, "the session closes at once: the watchdog holds none of its descriptors");
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.strictEqual(runSh("pgrep -f '[s]leep 31' || :").stdout.toString(), "", "no watchdog or sleep of it is left");
        });

        it("ends its watchdog when the body fails and undoes", async function () {
            const state = path.join(tempDir(), "state");
            const r = await runShAsync(`exec setsid -w /bin/sh -c ${sh`${withUndo("false", "echo undone", state, { timeoutSeconds: 33 })}`}`);
            assert.strictEqual(r.status, 1, r.stderr);
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.strictEqual(runSh("pgrep -f '[s]leep 33' || :").stdout.toString(), "", "no watchdog or sleep of it is left");
        });
    });

    describe("readSecretFromStdin", () => {
        it("reads one line into the variable, leaving the rest of stdin for the next reader", () => {
            const state = path.join(tempDir(), "state");
            const body = `${readSecretFromStdin("MW_PASSWORD")}${readSecretFromStdin("MW_TOKEN")}printf '[%s][%s]' "$MW_PASSWORD" "$MW_TOKEN"\ncat`;
            const r = runSh(render(body, state), "p@ss w'rd $(id)\ntok\nrest of\nthe file\n");
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.toString(), "[p@ss w'rd $(id)][tok]rest of\nthe file\n");
        });

        it("accepts a last line without newline", () => {
            const r = runSh(render(`${readSecretFromStdin("S")}printf %s "$S"`, path.join(tempDir(), "state")), "secret");
            assert.strictEqual(r.stdout.toString(), "secret");
        });

        it("fails with exit 66 and names the variable when stdin is empty", () => {
            const r = runSh(render(readSecretFromStdin("MW_PASSWORD"), path.join(tempDir(), "state")), "");
            assert.strictEqual(r.status, NO_SECRET_EXIT_CODE);
            assert.match(r.stderr, /expected a secret for MW_PASSWORD on stdin/);
        });

        it("keeps the secret out of the script text", () => {
            const s = render(readSecretFromStdin("MW_PASSWORD"), "/tmp/x");
            assert.doesNotMatch(s, /p@ss/);
        });

        it("refuses a variable name that is not a shell identifier", () => {
            for (const bad of ["", "1A", "A-B", "A;id", "$A"]) assert.throws(() => readSecretFromStdin(bad), /not a shell variable name/);
        });
    });

    describe("remoteCommand", () => {
        it("runs the script with /bin/sh from any login shell and keeps stdin free", () => {
            const state = path.join(tempDir(), "state");
            const command = remoteCommand(render(`${readSecretFromStdin("S")}printf '%s' "$S"`, state));
            const r = runSh(`exec bash -c ${sh`${command}`}`, "from-stdin\n");
            assert.strictEqual(r.status, 0, r.stderr);
            assert.strictEqual(r.stdout.toString(), "from-stdin");
            assert.strictEqual(journal(state).length, 1);
        });
    });
});
