import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { LOCAL_INTERPRETER, renderLocalStep } from "../../../lib/core/local-step";
import { TIMED_OUT_EXIT_CODE } from "../../../lib/core/script";
import { raw, sh } from "../../../lib/core/shell";
import { cleanTempDirs, journal, runSh, runShAsync, tempDir } from "./harness";

/** Runs a rendered script the way the local Command runs it (its interpreter). */
function runLocal(script: string, input = "") {
    return runSh(sh`${raw(LOCAL_INTERPRETER.join(" "))} ${script}`, input);
}

describe("core/local-step", () => {
    afterEach(cleanTempDirs);

    it("renders forward and inverse framed like a remote step, journalled in the local state dir", () => {
        const state = path.join(tempDir(), "state");
        const s = renderLocalStep({ component: "restore", step: "scale-zync", target: "cluster", stateDir: state, action: { forward: "echo forward", inverse: "echo inverse" } });
        assert.match(s.create, /MW_STEP_DIR="\$MW_STATE_DIR\/steps\/\$MW_COMPONENT\/\$MW_STEP"/);
        const f = runLocal(s.create);
        assert.strictEqual(f.status, 0, f.stderr);
        assert.strictEqual(f.stdout.toString(), "forward\n");
        const i = runLocal(s.delete!);
        assert.strictEqual(i.status, 0, i.stderr);
        assert.strictEqual(i.stdout.toString(), "inverse\n");
        assert.deepStrictEqual(journal(state).map((l) => l.slice(1)), [
            ["restore", "scale-zync", "forward", "ok"],
            ["restore", "scale-zync", "inverse", "ok"],
        ]);
    });

    it("has no delete for a check (empty inverse)", () => {
        const s = renderLocalStep({ component: "c", step: "check", target: "cluster", stateDir: path.join(tempDir(), "s"), action: { forward: "true", inverse: "" } });
        assert.strictEqual(s.delete, undefined);
    });

    it("a failed forward runs its inverse with the same stdin, keeping it under the state dir (not /run), and names the target", () => {
        const dir = tempDir();
        const state = path.join(dir, "state");
        const out = path.join(dir, "undone");
        const s = renderLocalStep({
            component: "c", step: "s", target: "cluster-a", stateDir: state,
            action: { forward: "read -r x; test -n \"$x\"; false", inverse: sh`read -r y; echo "undo $y" >${out}` },
        });
        fs.mkdirSync(state, { recursive: true });
        const r = runLocal(s.create, "secret\n");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /c\/s on cluster-a: forward action failed with exit code 1/);
        assert.strictEqual(fs.readFileSync(out, "utf8"), "undo secret\n");
        assert.deepStrictEqual(fs.readdirSync(path.join(state, "stdin")), [], "the kept stdin is removed");
        assert.deepStrictEqual(journal(state).map((l) => l.slice(3)), [["forward", "failed(1)"], ["inverse", "ok"]]);
    });

    it("its time limit stops a hung child of the body (own session), then undoes", async function () {
        this.timeout(30_000);
        const dir = tempDir();
        const state = path.join(dir, "state");
        const s = renderLocalStep({
            component: "c", step: "hang", target: "cluster", stateDir: state, timeoutSeconds: 2,
            action: { forward: sh`sleep 60 & echo $! >${path.join(dir, "pid")}; wait`, inverse: sh`echo undone >${path.join(dir, "undone")}` },
        });
        const started = Date.now();
        const r = await runShAsync(sh`${raw(LOCAL_INTERPRETER.join(" "))} ${s.create}`);
        assert.strictEqual(r.status, TIMED_OUT_EXIT_CODE, r.stderr);
        assert.ok(Date.now() - started < 20_000);
        assert.match(r.stderr, /c\/hang on cluster did not finish within 2 s/);
        assert.strictEqual(fs.readFileSync(path.join(dir, "undone"), "utf8"), "undone\n");
        const pid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
        assert.throws(() => process.kill(pid, 0), "the body's sleep is gone");
    });
});
