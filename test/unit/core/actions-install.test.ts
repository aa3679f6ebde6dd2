import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { install, installPackage } from "../../../lib/core/actions";
import { sh } from "../../../lib/core/shell";
import { ConfigError } from "../../../lib/core/validate";
import { cleanTempDirs, runSh, script, tempDir } from "./harness";

describe("core/actions/install", () => {
    afterEach(cleanTempDirs);

    function setup() {
        const root = tempDir();
        const state = path.join(root, "state");
        const thing = path.join(root, "opt-redis");
        const log = path.join(root, "calls");
        const action = install({
            id: "redis-6.2",
            install: sh`echo install >>${log}; touch ${thing}`,
            uninstall: sh`echo uninstall >>${log}; rm -f ${thing}`,
            check: sh`test -e ${thing}`,
        });
        const run = (body: string, direction: "forward" | "inverse", env?: NodeJS.ProcessEnv) => runSh(script(body, state, direction), "", env);
        const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
        const marker = path.join(state, "steps", "test-component", "test-step", "install", "redis-6.2");
        return { root, state, thing, action, run, calls, marker };
    }

    it("installs when the check fails, once; the inverse uninstalls, once", () => {
        const { thing, action, run, calls, marker } = setup();
        assert.strictEqual(run(action.forward, "forward").status, 0);
        assert.ok(fs.existsSync(thing) && fs.existsSync(marker));
        assert.strictEqual(run(action.forward, "forward").status, 0);
        assert.deepStrictEqual(calls(), ["install"]);
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.ok(!fs.existsSync(thing) && !fs.existsSync(marker));
        const again = run(action.inverse, "inverse");
        assert.strictEqual(again.status, 0);
        assert.match(again.stdout.toString(), /redis-6.2 was not installed by this step; nothing to uninstall/);
        assert.deepStrictEqual(calls(), ["install", "uninstall"]);
    });

    it("leaves alone what was installed before the step, in both directions", () => {
        const { thing, action, run, calls } = setup();
        fs.writeFileSync(thing, "");
        const fwd = run(action.forward, "forward");
        assert.match(fwd.stdout.toString(), /already installed; it is left alone/);
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.ok(fs.existsSync(thing));
        assert.deepStrictEqual(calls(), []);
    });

    it("fails when the check still fails after installing, and the inverse still cleans up", () => {
        const { root, state, run } = setup();
        const log = path.join(root, "half");
        const broken = install({ id: "broken", install: sh`touch ${log}`, uninstall: sh`rm -f ${log}`, check: "false" });
        const r = run(broken.forward, "forward");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /installed broken, but its check still fails/);
        assert.ok(fs.existsSync(path.join(state, "steps", "test-component", "test-step", "install", "broken")));
        assert.strictEqual(run(broken.inverse, "inverse").status, 0);
        assert.ok(!fs.existsSync(log));
    });

    it("an install command that fails fails the step (set -e reaches inside)", () => {
        const { run } = setup();
        const failing = install({ id: "f", install: "false\necho should-not-print", uninstall: ":", check: "false" });
        const r = run(failing.forward, "forward");
        assert.strictEqual(r.status, 1);
        assert.doesNotMatch(r.stdout.toString(), /should-not-print/);
    });

    it("a trailing comment in an operator command does not swallow the script", () => {
        const { thing, run } = setup();
        const a = install({ id: "c", install: sh`touch ${thing} # comment`, uninstall: sh`rm -f ${thing} # bye`, check: sh`test -e ${thing} # ok` });
        assert.strictEqual(run(a.forward, "forward").status, 0);
        assert.strictEqual(run(a.inverse, "inverse").status, 0);
        assert.ok(!fs.existsSync(thing));
    });

    it("installPackage (apt) checks with dpkg-query, installs and removes with apt-get", () => {
        const { root, run } = setup();
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        const db = path.join(root, "dpkg-installed");
        const fake = (name: string, body: string) =>
            fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >>"${bin}/log"\n${body}\n`, { mode: 0o755 });
        fake("dpkg-query", `[ -e ${db} ] && printf 'install ok installed'; exit 0`);
        fake("apt-get", `case "$1" in install) touch ${db};; remove) rm -f ${db};; esac`);
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
        const action = installPackage({ name: "redis-server", manager: "apt" });
        assert.strictEqual(run(action.forward, "forward", env).status, 0);
        assert.strictEqual(run(action.inverse, "inverse", env).status, 0);
        const log = fs.readFileSync(path.join(bin, "log"), "utf8").trim().split("\n");
        assert.deepStrictEqual([...new Set(log)], [
            "dpkg-query -W -f=${Status} redis-server", "apt-get install -y -q redis-server", "apt-get remove -y -q redis-server"]);
    });

    it("installPackage (yum) uses rpm -q, yum install and yum remove", () => {
        const a = installPackage({ name: "redis", manager: "yum" });
        assert.match(a.forward, /rpm -q 'redis'/);
        assert.match(a.forward, /yum install -y -q 'redis'/);
        assert.match(a.inverse, /yum remove -y -q 'redis'/);
    });

    it("rejects empty commands, bad ids, bad package names and managers", () => {
        assert.throws(() => install({ install: "", uninstall: "x", check: "x", id: "a/b" }), (e: unknown) =>
            e instanceof ConfigError && e.problems.map((p) => p.path).join() === "install.install,install.id");
        assert.throws(() => installPackage({ name: "-y", manager: "apt" }), /installPackage.name: must be a package name/);
        assert.throws(() => installPackage({ name: "redis", manager: "dnf" as "yum" }), /installPackage.manager: must be apt or yum \(got "dnf"\)/);
    });

    it("derives a stable marker id from the install command when none is given", () => {
        const a = install({ install: "make install", uninstall: "make uninstall", check: "test -x /usr/local/bin/x" });
        const b = install({ install: "make install", uninstall: "make uninstall", check: "test -x /usr/local/bin/x" });
        assert.strictEqual(a.forward, b.forward);
        assert.match(a.forward, /\$MW_STEP_DIR\/install\/[0-9a-f]{12}"/);
    });
});
