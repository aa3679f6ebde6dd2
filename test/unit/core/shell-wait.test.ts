import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { waitFunction } from "../../../lib/core/shell-wait";

function run(body: string): { code: number | null; stderr: string; ms: number } {
    const t0 = Date.now();
    const r = spawnSync("dash", ["-c", `${waitFunction(0.05)}${body}`], { encoding: "utf8" });
    return { code: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

describe("mw_wait", function () {
    it("returns as soon as the check passes", function () {
        const r = run("n=0; three() { n=$((n + 1)); [ $n -ge 3 ]; }; mw_wait 5 'three tries' three");
        assert.equal(r.code, 0, r.stderr);
        assert.ok(r.ms < 2000, `${r.ms} ms`);
    });

    it("is bounded by the clock, not by a count of tries, and names what it waited for", function () {
        const r = run("slow() { sleep 0.4; false; }; mw_wait 1 'the slow check' slow");
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^middleware: the slow check: not within 1 s$/m);
        assert.ok(r.ms >= 1000 && r.ms < 2000, `gave up after ${r.ms} ms`);
    });

    it("refuses a poll interval outside (0, 60] s", function () {
        assert.throws(() => waitFunction(0), /pollSeconds/);
        assert.throws(() => waitFunction(61), /pollSeconds/);
    });
});
