import * as assert from "node:assert/strict";
import { downtime } from "../../../bench/writer";

describe("bench/downtime", function () {
    it("is the longest gap between consecutive acknowledgements", function () {
        assert.deepEqual(downtime([10, 20, 520, 530], 0, 540), { ms: 500, from: 20, to: 520 });
    });

    it("counts the wait from start to the first acknowledgement", function () {
        assert.deepEqual(downtime([700, 710], 0, 720), { ms: 700, from: 0, to: 700 });
    });

    it("counts the wait from the last acknowledgement to stop", function () {
        assert.deepEqual(downtime([10, 20], 0, 900), { ms: 880, from: 20, to: 900 });
    });

    it("is the whole run when nothing was acknowledged", function () {
        assert.deepEqual(downtime([], 100, 350), { ms: 250, from: 100, to: 350 });
    });

    it("does not depend on the order the times are given in", function () {
        assert.deepEqual(downtime([530, 10, 520, 20], 0, 540), downtime([10, 20, 520, 530], 0, 540));
    });

    it("is zero for an empty run", function () {
        assert.equal(downtime([], 5, 5).ms, 0);
    });
});
