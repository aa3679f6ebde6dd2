import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { backupPath, CRASH_POINT_EXIT_CODE, crashPoint, crashPointsOf, linkPath } from "../../../lib/core/actions";
import { cleanTempDirs, runSh, script, tempDir } from "./harness";

/*
 * Crash points: unarmed they change nothing; armed (by a file naming the component, step,
 * direction and point) exactly that point fires, once. And what a resumed backup finds after a
 * crash between its rename and the link that replaced the path.
 */

describe("core/actions/crashPoint", () => {
    afterEach(cleanTempDirs);

    const body = `echo one\n${crashPoint("middle")}echo two\n`;

    it("is a no-op unless armed, and names itself in the script", () => {
        const state = path.join(tempDir(), "state");
        const r = runSh(script(body, state));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(String(r.stdout), "one\ntwo\n");
        assert.deepStrictEqual(crashPointsOf(script(body, state)), ["middle"]);
    });

    it("ignores a file armed for another point, step or direction", () => {
        const state = path.join(tempDir(), "state");
        fs.mkdirSync(state, { recursive: true });
        for (const armed of ["test-component test-step forward other", "test-component other-step forward middle", "test-component test-step inverse middle"]) {
            fs.writeFileSync(path.join(state, "crash-point"), armed);
            const r = runSh(script(body, state));
            assert.strictEqual(r.status, 0, `${armed}: ${r.stderr}`);
            assert.ok(fs.existsSync(path.join(state, "crash-point")), `${armed}: left armed`);
        }
    });

    it("armed, stops exactly there, once: the file is consumed and the rest of the body does not run", function () {
        this.timeout(120_000);
        const state = path.join(tempDir(), "state");
        fs.mkdirSync(state, { recursive: true });
        fs.writeFileSync(path.join(state, "crash-point"), "test-component test-step forward middle");
        // Without a sandbox to kill the host, the point gives up after its wait; shorten it here.
        const r = runSh(script(body.replace("sleep 60", "sleep 0"), state));
        assert.strictEqual(r.status, CRASH_POINT_EXIT_CODE, r.stderr);
        assert.strictEqual(String(r.stdout), "one\n");
        assert.match(String(r.stderr), /stopped at crash point middle/);
        assert.ok(!fs.existsSync(path.join(state, "crash-point")) && fs.existsSync(path.join(state, "crash-point.reached")));
        const again = runSh(script(body, state));
        assert.strictEqual(String(again.stdout), "one\ntwo\n", "fires once");
    });

    it("refuses a name that is not a plain literal", () => {
        assert.throws(() => crashPoint("a\"b"), /not a point name/);
        assert.throws(() => crashPoint("$(id)"), /not a point name/);
    });
});

describe("core/actions/backupPath resumed after a crash (replacedBy)", () => {
    afterEach(cleanTempDirs);

    it("counts the backup done when the path is already the link that replaced it", () => {
        const root = tempDir();
        const state = path.join(root, "state");
        const init = path.join(root, "init.d", "redis");
        const managed = path.join(root, "managed", "init.d", "redis");
        fs.mkdirSync(path.dirname(init), { recursive: true });
        fs.mkdirSync(path.dirname(managed), { recursive: true });
        fs.writeFileSync(init, "#!/bin/sh\n# legacy\n");
        fs.writeFileSync(managed, "#!/bin/sh\n# managed\n");
        const backup = backupPath({ path: init, replacedBy: managed });
        const link = linkPath({ path: init, target: managed });
        for (const b of [backup.forward, link.forward]) assert.strictEqual(runSh(script(b, state)).status, 0);
        // The step runs again after a crash: its backup finds both the link and the _bak.
        const again = runSh(script(backup.forward, state));
        assert.strictEqual(again.status, 0, again.stderr);
        assert.match(String(again.stdout), /already backed up .* and replaced by the link/);
        const plain = runSh(script(backupPath({ path: init }).forward, state));
        assert.notStrictEqual(plain.status, 0, "without replacedBy both existing is refused");
        assert.match(String(plain.stderr), /both exist/);
        // Anything else at the path is still refused.
        fs.unlinkSync(init);
        fs.writeFileSync(init, "something else");
        assert.notStrictEqual(runSh(script(backup.forward, state)).status, 0);
    });
});
