import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { backupPath, configFile, inSequence } from "../../../lib/core/actions";
import { cleanTempDirs, runSh, script, snapshot, tempDir } from "./harness";

describe("core/actions/inSequence", () => {
    afterEach(cleanTempDirs);

    it("runs forwards in order and inverses in reverse order", () => {
        const s = inSequence({ forward: "a", inverse: "A" }, { forward: "b", inverse: "B" }, { forward: "c", inverse: "C" });
        assert.deepStrictEqual(s, { forward: "a\nb\nc", inverse: "C\nB\nA" });
    });

    it("a composed step (back up a data dir, write its config) is undone byte for byte", () => {
        const root = tempDir();
        const state = path.join(root, "state");
        const app = path.join(root, "app");
        fs.mkdirSync(path.join(app, "redis", "data"), { recursive: true });
        fs.writeFileSync(path.join(app, "redis", "data", "dump.rdb"), "rdb");
        fs.writeFileSync(path.join(app, "redis.conf"), "old", { mode: 0o600 });
        const before = snapshot(app);
        const step = inSequence(backupPath({ path: path.join(app, "redis") }), configFile({ path: path.join(app, "redis.conf") }));
        const fwd = runSh(script(step.forward, state, "forward"), "new config\n");
        assert.strictEqual(fwd.status, 0, fwd.stderr);
        assert.deepStrictEqual(fs.readdirSync(app).sort(), ["redis.conf", "redis_bak"]);
        const inv = runSh(script(step.inverse, state, "inverse"));
        assert.strictEqual(inv.status, 0, inv.stderr);
        assert.deepStrictEqual(snapshot(app), before);
    });
});
