import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { configFile } from "../../../lib/core/actions";
import { ConfigError } from "../../../lib/core/validate";
import { cleanTempDirs, runSh, script, snapshot, tempDir } from "./harness";

const SECRET_CONTENT = "port 6379\nrequirepass s3cr3t'$(id)`x`\n";

describe("core/actions/configFile", () => {
    afterEach(cleanTempDirs);

    function setup() {
        const root = tempDir();
        const state = path.join(root, "state");
        const etc = path.join(root, "etc", "redis");
        fs.mkdirSync(etc, { recursive: true });
        const file = path.join(etc, "redis.conf");
        const run = (body: string, direction: "forward" | "inverse", input = "") => runSh(script(body, state, direction), input);
        return { root, state, etc, file, run };
    }

    it("forward writes stdin to the file; the content never appears in the script", () => {
        const { file, run } = setup();
        const action = configFile({ path: file, mode: "0640" });
        assert.ok(!action.forward.includes("s3cr3t"));
        const r = run(action.forward, "forward", SECRET_CONTENT);
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(fs.readFileSync(file, "utf8"), SECRET_CONTENT);
        assert.strictEqual(fs.statSync(file).mode & 0o7777, 0o640);
        assert.doesNotMatch(r.stdout.toString() + r.stderr, /s3cr3t/);
    });

    it("forward then inverse restores the original content, mode, owner and times exactly", () => {
        const { etc, file, run } = setup();
        fs.writeFileSync(file, "original\n\0binary\xff", { mode: 0o600 });
        fs.chownSync(file, 1234, 5678);
        fs.utimesSync(file, new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
        const before = snapshot(etc);
        const action = configFile({ path: file, mode: "0644", owner: "0:0" });
        assert.strictEqual(run(action.forward, "forward", "new\n").status, 0);
        const st = fs.statSync(file);
        assert.deepStrictEqual([st.mode & 0o7777, st.uid, st.gid], [0o644, 0, 0]);
        const r = run(action.inverse, "inverse");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(snapshot(etc), before);
    });

    it("keeps the original's mode and owner when none are given", () => {
        const { file, run } = setup();
        fs.writeFileSync(file, "old", { mode: 0o640 });
        fs.chownSync(file, 999, 998);
        assert.strictEqual(run(configFile({ path: file }).forward, "forward", "new").status, 0);
        const st = fs.statSync(file);
        assert.deepStrictEqual([st.mode & 0o7777, st.uid, st.gid], [0o640, 999, 998]);
    });

    it("forward run twice keeps the first original; inverse still restores it", () => {
        const { etc, file, run } = setup();
        fs.writeFileSync(file, "original", { mode: 0o640 });
        const before = snapshot(etc);
        const action = configFile({ path: file });
        assert.strictEqual(run(action.forward, "forward", "v1").status, 0);
        assert.strictEqual(run(action.forward, "forward", "v1").status, 0);
        assert.strictEqual(fs.readFileSync(file, "utf8"), "v1");
        assert.deepStrictEqual(fs.readdirSync(etc), ["redis.conf"], "no temporary file left behind");
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.deepStrictEqual(snapshot(etc), before);
    });

    it("a file that was absent is removed again by the inverse; a second inverse is a no-op", () => {
        const { etc, file, run } = setup();
        const action = configFile({ path: file });
        assert.strictEqual(run(action.forward, "forward", "fresh\n").status, 0);
        assert.strictEqual(fs.statSync(file).mode & 0o7777, 0o644);
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.deepStrictEqual(fs.readdirSync(etc), []);
        const again = run(action.inverse, "inverse");
        assert.strictEqual(again.status, 0, again.stderr);
        assert.match(again.stdout.toString(), /nothing to restore/);
    });

    it("keeps the saved original private to root", () => {
        const { state, file, run } = setup();
        fs.writeFileSync(file, "requirepass x", { mode: 0o600 });
        assert.strictEqual(run(configFile({ path: file }).forward, "forward", "y").status, 0);
        const dir = path.join(state, "steps", "test-component", "test-step", "config");
        assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700);
        const saved = fs.readdirSync(dir).find((n) => n.endsWith(".orig"));
        assert.ok(saved && saved.includes("%etc%redis%redis.conf"), String(saved));
    });

    it("refuses to replace a symlink or a directory, and a missing directory, with clear messages", () => {
        const { etc, file, run } = setup();
        fs.writeFileSync(path.join(etc, "real.conf"), "real");
        fs.symlinkSync("real.conf", file);
        const link = run(configFile({ path: file }).forward, "forward", "x");
        assert.strictEqual(link.status, 1);
        assert.match(link.stderr, /refusing to replace .*redis.conf: it is not a regular file/);
        assert.strictEqual(fs.readFileSync(path.join(etc, "real.conf"), "utf8"), "real");
        const missing = run(configFile({ path: path.join(etc, "nope", "x.conf") }).forward, "forward", "x");
        assert.strictEqual(missing.status, 1);
        assert.match(missing.stderr, /directory .*nope does not exist/);
    });

    it("rejects invalid path, mode and owner in one error", () => {
        assert.throws(() => configFile({ path: "etc/x", mode: "999", owner: "a b" }), (e: unknown) => {
            assert.ok(e instanceof ConfigError);
            assert.deepStrictEqual(e.problems.map((p) => p.path), ["configFile.path", "configFile.mode", "configFile.owner"]);
            return true;
        });
    });
});
