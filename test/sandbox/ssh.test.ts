import * as assert from "node:assert/strict";
import { runOverSsh, SshRunOptions } from "../../lib/core/ssh";
import { fault, Inventory } from "../../sandbox";
import { hostOf, sandboxUp, sshTarget } from "../support/hosts";

const once: SshRunOptions = { timeoutSeconds: 10, dialAttempts: 1, dialIntervalSeconds: 1 };

describe("SSH to sandbox hosts (pinned keys, jump host, time limits)", function () {
    this.timeout(120_000);
    let inv: Inventory;

    before(async function () {
        inv = await sandboxUp();
    });

    it("reaches a host through a jump host, each with its own pinned key", async function () {
        const r = await runOverSsh({ ...sshTarget(hostOf(inv, "h2")), proxy: sshTarget(hostOf(inv, "h1")) }, "hostname", once);
        assert.deepEqual(r, { code: 0, stdout: "h2\n", stderr: "" });
    });

    it("refuses a jump host whose key does not match, naming it", async function () {
        const jump = { ...sshTarget(hostOf(inv, "h1")), hostKey: hostOf(inv, "h2").hostPublicKey };
        await assert.rejects(
            runOverSsh({ ...sshTarget(hostOf(inv, "h2")), proxy: jump }, "true", once),
            new RegExp(`the host key of root@${hostOf(inv, "h1").address}:22 does not match the pinned hostKey`),
        );
    });

    it("stops a command that runs past its time limit", async function () {
        const started = Date.now();
        await assert.rejects(
            runOverSsh(sshTarget(hostOf(inv, "h1")), "sleep 30", { ...once, timeoutSeconds: 2 }),
            /did not finish within 2 s and was stopped/,
        );
        assert.ok(Date.now() - started < 10_000);
    });

    it("gives up on a host that does not answer after the configured attempts", async function () {
        await fault("h2", "cut");
        try {
            const started = Date.now();
            await assert.rejects(
                runOverSsh(sshTarget(hostOf(inv, "h2")), "true", { timeoutSeconds: 5, dialAttempts: 2, dialIntervalSeconds: 1 }),
                new RegExp(`cannot reach root@${hostOf(inv, "h2").address}:22 \\(attempt 2 of 2\\)`),
            );
            console.log(`      gave up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } finally {
            await fault("h2", "heal");
        }
    });
});
