import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ServiceManager, serviceState } from "../../../lib/core/actions";
import { sh } from "../../../lib/core/shell";
import { ConfigError } from "../../../lib/core/validate";
import { cleanTempDirs, runSh, script, tempDir } from "./harness";

/** A fake service whose run state is a flag file; every control call is logged. */
function fakeService(root: string) {
    const flag = path.join(root, "running");
    const log = path.join(root, "calls");
    const manager: ServiceManager = {
        kind: "custom",
        start: sh`echo start >>${log}; touch ${flag}`,
        stop: sh`echo stop >>${log}; rm -f ${flag}`,
        status: sh`test -e ${flag}`,
    };
    const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);
    return { flag, manager, calls, running: () => fs.existsSync(flag) };
}

/** Puts an executable named `name` that logs its arguments into a bin dir; returns the env with it first on PATH. */
function fakeCommand(bin: string, name: string, body: string): NodeJS.ProcessEnv {
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >>"${bin}/log"\n${body}\n`, { mode: 0o755 });
    return { ...process.env, PATH: `${bin}:${process.env.PATH}` };
}

describe("core/actions/serviceState", () => {
    afterEach(cleanTempDirs);

    function setup() {
        const root = tempDir();
        const state = path.join(root, "state");
        const svc = fakeService(root);
        const run = (body: string, direction: "forward" | "inverse", env?: NodeJS.ProcessEnv) => runSh(script(body, state, direction), "", env);
        return { root, state, svc, run };
    }

    it("stop: records running, stops; inverse starts it again and forgets the record", () => {
        const { state, svc, run } = setup();
        fs.writeFileSync(svc.flag, "");
        const action = serviceState({ service: "redis", state: "stopped", manager: svc.manager, settleSeconds: 2 });
        const fwd = run(action.forward, "forward");
        assert.strictEqual(fwd.status, 0, fwd.stderr);
        assert.ok(!svc.running());
        const marker = path.join(state, "steps", "test-component", "test-step", "service", "redis");
        assert.strictEqual(fs.readFileSync(marker, "utf8"), "running\n");
        const inv = run(action.inverse, "inverse");
        assert.strictEqual(inv.status, 0, inv.stderr);
        assert.ok(svc.running());
        assert.ok(!fs.existsSync(marker));
        assert.deepStrictEqual(svc.calls(), ["stop", "start"]);
    });

    it("forward is idempotent and keeps the first recorded state", () => {
        const { svc, run } = setup();
        const action = serviceState({ service: "redis", state: "running", manager: svc.manager, settleSeconds: 2 });
        assert.strictEqual(run(action.forward, "forward").status, 0);
        assert.strictEqual(run(action.forward, "forward").status, 0);
        assert.deepStrictEqual(svc.calls(), ["start"], "second run must not start again");
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.ok(!svc.running(), "was stopped before the step, so the inverse stops it");
        const again = run(action.inverse, "inverse");
        assert.strictEqual(again.status, 0);
        assert.match(again.stdout.toString(), /no recorded state for service redis/);
        assert.deepStrictEqual(svc.calls(), ["start", "stop"]);
    });

    it("does nothing when the service already is in the wanted state, and the inverse leaves it so", () => {
        const { svc, run } = setup();
        const action = serviceState({ service: "redis", state: "stopped", manager: svc.manager });
        assert.strictEqual(run(action.forward, "forward").status, 0);
        assert.strictEqual(run(action.inverse, "inverse").status, 0);
        assert.deepStrictEqual(svc.calls(), []);
    });

    it("fails naming the service when status never agrees", () => {
        const { run } = setup();
        const stuck: ServiceManager = { kind: "custom", start: "true", stop: "true", status: "false" };
        const r = run(serviceState({ service: "redis", state: "running", manager: stuck, settleSeconds: 1 }).forward, "forward");
        assert.strictEqual(r.status, 1);
        assert.match(r.stderr, /service redis did not reach the wanted state within 1 s/);
    });

    it("sysv runs `service NAME start|stop|status`", () => {
        const { root, run } = setup();
        const bin = path.join(root, "bin");
        const flag = path.join(root, "sysv-running");
        const env = fakeCommand(bin, "service", `case "$2" in start) touch ${flag};; stop) rm -f ${flag};; status) test -e ${flag};; esac`);
        const action = serviceState({ service: "redis_6379", state: "running", manager: { kind: "sysv" }, settleSeconds: 2 });
        assert.strictEqual(run(action.forward, "forward", env).status, 0);
        assert.strictEqual(run(action.inverse, "inverse", env).status, 0);
        const log = fs.readFileSync(path.join(bin, "log"), "utf8").trim().split("\n");
        assert.deepStrictEqual([...new Set(log)], ["service redis_6379 status", "service redis_6379 start", "service redis_6379 stop"]);
    });

    it("systemd runs `systemctl start|stop NAME` and `systemctl is-active --quiet NAME`", () => {
        const { root, run } = setup();
        const bin = path.join(root, "bin");
        const flag = path.join(root, "unit-running");
        const env = fakeCommand(bin, "systemctl", `case "$1" in start) touch ${flag};; stop) rm -f ${flag};; is-active) test -e ${flag};; esac`);
        fs.writeFileSync(flag, "");
        const action = serviceState({ service: "postgresql@15-main", state: "stopped", manager: { kind: "systemd" }, settleSeconds: 2 });
        assert.strictEqual(run(action.forward, "forward", env).status, 0);
        assert.strictEqual(run(action.inverse, "inverse", env).status, 0);
        const log = fs.readFileSync(path.join(bin, "log"), "utf8").trim().split("\n");
        assert.deepStrictEqual([...new Set(log)], ["systemctl is-active --quiet postgresql@15-main", "systemctl stop postgresql@15-main", "systemctl start postgresql@15-main"]);
    });

    it("rejects bad service names, states, managers and empty custom commands", () => {
        assert.throws(() => serviceState({ service: "redis;reboot", state: "running", manager: { kind: "sysv" } }), /serviceState.service: must be a service name/);
        assert.throws(() => serviceState({ service: "redis", state: "paused" as "running", manager: { kind: "sysv" } }), /serviceState.state: must be running or stopped \(got "paused"\)/);
        assert.throws(() => serviceState({ service: "redis", state: "running", manager: { kind: "upstart" } as unknown as ServiceManager }), /serviceState.manager.kind: must be sysv, systemd or custom/);
        assert.throws(() => serviceState({ service: "redis", state: "running", manager: { kind: "custom", start: "", stop: "x", status: " " } }), (e: unknown) =>
            e instanceof ConfigError && e.problems.map((p) => p.path).join() === "serviceState.manager.start,serviceState.manager.status");
    });
});
