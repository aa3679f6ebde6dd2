import * as assert from "node:assert/strict";
import { gate, rolling, sequence } from "../../../lib/core/order";
import { describePlan, inOrder, PlannedStep } from "../../../lib/core/plan";

const step = (id: string, host = "h1", extra: Partial<PlannedStep> = {}): PlannedStep => ({
    id,
    host,
    summary: `do ${id}`,
    action: { forward: `: ${id}`, inverse: `: undo ${id}` },
    ...extra,
});

describe("plans", function () {
    it("orders steps after the ones they wait on", function () {
        const ids = inOrder({ component: "c", steps: [step("c", "h1", { after: ["b"] }), step("b", "h1", { after: ["a"] }), step("a")] }).map((s) => s.id);
        assert.deepEqual(ids, ["a", "b", "c"]);
    });

    it("rejects duplicate ids, unknown ids and cycles, naming them", function () {
        assert.throws(() => inOrder({ component: "c", steps: [step("a"), step("a")] }), /c: two steps have the id 'a'/);
        assert.throws(() => inOrder({ component: "c", steps: [step("a", "h1", { after: ["x"] })] }), /step 'a' waits on unknown step 'x'/);
        assert.throws(
            () => inOrder({ component: "c", steps: [step("a", "h1", { after: ["b"] }), step("b", "h1", { after: ["a"] })] }),
            /steps wait on each other: a -> b -> a/,
        );
    });

    it("gate: every change waits on every check of every host", function () {
        const gated = gate([step("check-h1", "h1", { kind: "check" }), step("check-h2", "h2", { kind: "check" }), step("stop", "h1"), step("backup", "h2", { after: ["stop"] })]);
        assert.deepEqual(gated.map((s) => [s.id, s.after ?? []]), [
            ["check-h1", []],
            ["check-h2", []],
            ["stop", ["check-h1", "check-h2"]],
            ["backup", ["stop", "check-h1", "check-h2"]],
        ]);
    });

    it("sequence: each step waits on the one before", function () {
        assert.deepEqual(sequence([step("a"), step("b"), step("c")]).map((s) => s.after ?? []), [[], ["a"], ["b"]]);
    });

    it("rolling: a host starts only after the previous host's health check", function () {
        const rolled = rolling([
            { steps: [step("stop-h1", "h1"), step("start-h1", "h1")], health: step("healthy-h1", "h1", { kind: "check" }) },
            { steps: [step("stop-h2", "h2"), step("start-h2", "h2")], health: step("healthy-h2", "h2", { kind: "check" }) },
        ]);
        assert.deepEqual(rolled.map((s) => [s.id, s.after ?? []]), [
            ["stop-h1", []],
            ["start-h1", ["stop-h1"]],
            ["healthy-h1", ["start-h1"]],
            ["stop-h2", ["healthy-h1"]],
            ["start-h2", ["stop-h2"]],
            ["healthy-h2", ["start-h2"]],
        ]);
    });

    it("describes a plan for approval, one numbered line per step", function () {
        const text = describePlan({ component: "redis", steps: [step("b", "h2", { after: ["a"] }), step("a", "h1", { kind: "check" })] });
        assert.equal(text, ["redis: 2 steps", "  1. [h1] check: do a", "  2. [h2] do b (after a)"].join("\n"));
    });
});
