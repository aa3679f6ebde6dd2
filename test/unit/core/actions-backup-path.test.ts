import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { backupPath } from "../../../lib/core/actions";
import { ConfigError } from "../../../lib/core/validate";
import { cleanTempDirs, journal, runSh, script, snapshot, tempDir } from "./harness";

/** A small legacy install: nested dirs, odd names, modes, a symlink, binary data. */
function legacyTree(root: string): string {
    const app = path.join(root, "app", "redis");
    fs.mkdirSync(path.join(app, "conf", "deep"), { recursive: true });
    fs.writeFileSync(path.join(app, "conf", "redis.conf"), "port 6379\nrequirepass x\n", { mode: 0o640 });
    fs.writeFileSync(path.join(app, "conf", "deep", "name with spaces & $(id)"), "x");
    fs.writeFileSync(path.join(app, "dump.rdb"), Buffer.from([0, 1, 2, 255, 254, 10, 13]));
    fs.writeFileSync(path.join(app, "redis-server"), "#!/bin/sh\n", { mode: 0o755 });
    fs.symlinkSync("conf/redis.conf", path.join(app, "current.conf"));
    fs.chmodSync(path.join(app, "conf"), 0o750);
    return app;
}

describe("core/actions/backupPath", () => {
    afterEach(cleanTempDirs);

    function setup() {
        const root = tempDir();
        const state = path.join(root, "state");
        const app = legacyTree(root);
        const run = (body: string, direction: "forward" | "inverse" = "forward") => runSh(script(body, state, direction));
        return { root, state, app, run, action: backupPath({ path: app }) };
    }

    it("forward renames path to path_bak; running it again is a no-op", () => {
        const { root, app, run, action, state } = setup();
        const before = snapshot(app);
        const first = run(action.forward);
        assert.strictEqual(first.status, 0, first.stderr);
        assert.ok(!fs.existsSync(app));
        assert.deepStrictEqual(snapshot(`${app}_bak`), before);
        const afterFirst = snapshot(path.join(root, "app"));
        const second = run(action.forward);
        assert.strictEqual(second.status, 0, second.stderr);
        assert.match(second.stdout.toString(), /already backed up/);
        assert.deepStrictEqual(snapshot(path.join(root, "app")), afterFirst);
        assert.deepStrictEqual(journal(state).map((l) => l[4]), ["ok", "ok"]);
    });

    it("forward refuses and changes nothing when both path and path_bak exist", () => {
        const { root, app, run, action } = setup();
        fs.mkdirSync(`${app}_bak`);
        const before = snapshot(path.join(root, "app"));
        const r = run(action.forward);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /refusing to back up .*redis: .*redis_bak already exists/);
        assert.deepStrictEqual(snapshot(path.join(root, "app")), before);
    });

    it("forward treats a dangling symlink as existing (never overwrites it)", () => {
        const { app, run, action } = setup();
        fs.symlinkSync("/nonexistent", `${app}_bak`);
        assert.strictEqual(run(action.forward).status, 1);
        assert.ok(fs.existsSync(app));
    });

    it("forward fails clearly when neither exists", () => {
        const { root, run } = setup();
        const r = run(backupPath({ path: path.join(root, "app", "missing") }).forward);
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /cannot back up .*missing: neither it nor .*missing_bak exists/);
    });

    it("forward then inverse restores the tree byte for byte (content, modes, owners, times, links)", () => {
        const { root, run, action } = setup();
        const before = snapshot(root + "/app");
        assert.strictEqual(run(action.forward).status, 0);
        const r = run(action.inverse, "inverse");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.deepStrictEqual(snapshot(root + "/app"), before);
    });

    it("inverse is a no-op when already restored, and refuses when both exist", () => {
        const { app, run, action } = setup();
        assert.strictEqual(run(action.forward).status, 0);
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        const again = run(action.inverse, "inverse");
        assert.strictEqual(again.status, 0, again.stderr);
        assert.match(again.stdout.toString(), /already restored/);

        assert.strictEqual(run(action.forward).status, 0);
        fs.mkdirSync(app);
        const both = run(action.inverse, "inverse");
        assert.strictEqual(both.status, 1);
        assert.match(both.stderr, /refusing to restore .*redis_bak: .*redis exists too/);
        assert.ok(fs.existsSync(`${app}_bak`));
    });

    it("inverse fails clearly when neither exists", () => {
        const { root, run } = setup();
        const r = run(backupPath({ path: path.join(root, "nothing") }).inverse, "inverse");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /cannot restore .*nothing: neither it nor .*nothing_bak exists/);
    });

    it("uses a custom suffix", () => {
        const { app, run } = setup();
        assert.strictEqual(run(backupPath({ path: app, suffix: ".pre-6.2" }).forward).status, 0);
        assert.ok(fs.existsSync(`${app}.pre-6.2`));
    });

    it("rejects hostile paths and suffixes before rendering anything", () => {
        for (const args of [{ path: "/app/$(id)" }, { path: "app" }, { path: "/app/../etc" }, { path: "/" }, { path: "/app/" },
            { path: "/app", suffix: "/x" }, { path: "/app", suffix: "" }, { path: "/app", suffix: "_bak;id" }]) {
            assert.throws(() => backupPath(args), ConfigError, JSON.stringify(args));
        }
        assert.throws(() => backupPath({ path: "/x", suffix: "/../y" }), /backupPath.suffix: must be 1 to 64 of/);
    });
});
