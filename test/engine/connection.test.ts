import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkpointPath, localStack } from "../../tools/engine";
import { exec, fault, Inventory } from "../../sandbox";
import { settingsFromEnv, statePaths } from "../../sandbox/config";
import type { ConnectionCase } from "./fixtures/connection";
import { hostOf, sandboxUp } from "../support/hosts";
import { brief, journalMark, journalSince } from "../support/journal";

/*
 * A Step's connection through the real engine and the `command` plugin: the pinned host key,
 * a jump host through `proxy`, the time limit of a script, the dial limits for a host that does
 * not answer, and a changed script or connection recorded in place without running anything.
 */

const program = path.join(__dirname, "fixtures", "connection");
const projectName = "connection";
const stackName = `connection-${process.pid}`;
const COMPONENT = "connection";
const PROBE = "/tmp/connection-probe";

let inv: Inventory;
let stack: Stack;

async function withCase(c: ConnectionCase): Promise<void> {
    await stack.setConfig("step", { value: JSON.stringify(c) });
}

async function timedUp(): Promise<{ error?: Error; ms: number; changes?: Record<string, number> }> {
    const started = Date.now();
    try {
        const r = await stack.up();
        return { ms: Date.now() - started, changes: r.summary.resourceChanges };
    } catch (e) {
        return { error: e as Error, ms: Date.now() - started };
    }
}

async function onHost(host: string, cmd: string): Promise<string> {
    const r = await exec(host, cmd);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}: ${r.stderr}`);
    return r.stdout;
}

describe("a Step's connection through the engine (command:remote:Command on sandbox hosts)", function () {
    before(async function () {
        inv = await sandboxUp();
        stack = await localStack(program, stackName);
        await stack.setConfig("inventoryFile", { value: statePaths(settingsFromEnv()).inventoryFile });
        for (const h of ["h1", "h2"]) await onHost(h, `rm -f ${PROBE}`);
    });

    after(async function () {
        await fault("h2", "heal").catch(() => undefined);
        await stack.destroy().catch(() => undefined);
        await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
        fs.rmSync(path.join(program, `Pulumi.${stackName}.yaml`), { force: true });
        for (const suffix of [".json.bak", ".json.bak.attrs"]) fs.rmSync(checkpointPath(projectName, stackName).replace(/\.json$/, suffix), { force: true });
        for (const h of ["h1", "h2"]) await onHost(h, `rm -f ${PROBE}`).catch(() => undefined);
    });

    it("reaches a host through a jump host, each with its own pinned key", async function () {
        await withCase({ host: "h2", via: "h1", forward: "hostname", inverse: "" });
        const { error, changes } = await timedUp();
        assert.ifError(error);
        assert.equal(changes?.create, 2);
        assert.equal((await stack.outputs()).stdout.value, "h2");
        await stack.destroy();
    });

    it("refuses a jump host whose key does not match the pinned one, and runs nothing", async function () {
        const mark = await journalMark(["h1", "h2"]);
        await withCase({ host: "h2", via: "h1", jumpHostKeyOf: "h2", forward: "hostname", inverse: "", dialAttempts: 1 });
        const { error } = await timedUp();
        assert.ok(error, "up must fail");
        assert.match(error.message, /proxy|Dial proxy/);
        assert.match(error.message, /host key mismatch/);
        assert.deepEqual(await journalSince(mark, COMPONENT), []);
    });

    it("stops a script at its time limit on the host, undoes it, and leaves nothing running", async function () {
        const mark = await journalMark(["h1"]);
        await withCase({
            host: "h1",
            forward: `echo started >${PROBE}; sleep 47`,
            inverse: `rm -f ${PROBE}; echo undone >&2`,
            timeoutSeconds: 2,
        });
        const { error, ms } = await timedUp();
        console.log(`      up failed after ${ms} ms`);
        assert.ok(error, "up must fail");
        assert.match(error.message, /connection\/probe on h1 did not finish within 2 s and was stopped/);
        assert.match(error.message, /its inverse ran and undid what it had done/);
        assert.ok(ms < 30_000, `the engine returned after ${ms} ms`);
        assert.deepEqual(brief(await journalSince(mark, COMPONENT)), ["probe forward failed(124)", "probe inverse ok"]);
        assert.equal(await onHost("h1", `test -e ${PROBE} && echo left || echo gone`), "gone\n");
        assert.equal(await onHost("h1", "pgrep -f '[s]leep 47' || :"), "");
    });

    it("gives up on a host that does not answer after the configured attempts", async function () {
        await fault("h2", "cut");
        try {
            await withCase({ host: "h2", forward: "true", inverse: "", dialAttempts: 2 });
            const { error, ms } = await timedUp();
            console.log(`      gave up after ${ms} ms`);
            assert.ok(error, "up must fail");
            assert.match(error.message, new RegExp(`after 2 failed attempts: dial tcp ${hostOf(inv, "h2").address.replace(/\./g, "\\.")}:22`));
        } finally {
            await fault("h2", "heal");
        }
    });

    it("records a changed script and a changed connection in place without running anything; destroy runs the inverse that ran", async function () {
        const mark = await journalMark(["h1"]);
        await withCase({ host: "h1", forward: `echo forward-1 >>${PROBE}`, inverse: `echo inverse-1 >>${PROBE}` });
        assert.ifError((await timedUp()).error);
        // A newer library renders other scripts; the key is rotated (here: the same key, written differently).
        await withCase({ host: "h1", forward: `echo forward-2 >>${PROBE}`, inverse: `echo inverse-2 >>${PROBE}`, keySuffix: "\n", dialAttempts: 7 });
        const { error, changes } = await timedUp();
        assert.ifError(error);
        assert.deepEqual(changes, { same: 1, update: 1 }, "the step is updated in place, not replaced");
        assert.equal(await onHost("h1", `cat ${PROBE}`), "forward-1\n", "nothing ran on the update");
        await stack.preview({ expectNoChanges: true });
        await stack.destroy();
        assert.equal(await onHost("h1", `cat ${PROBE}`), "forward-1\ninverse-1\n", "destroy ran the inverse of what ran");
        assert.deepEqual(brief(await journalSince(mark, COMPONENT)).filter((l) => !l.startsWith("ready")), ["probe forward ok", "probe inverse ok"]);
    });
});
