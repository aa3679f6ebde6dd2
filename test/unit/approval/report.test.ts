import * as assert from "node:assert/strict";
import { componentChangePlan } from "../../../lib/approval/change-plan";
import { changeReport, foldOperation, Operation, ReportInput } from "../../../lib/approval/report";
import type { Plan } from "../../../lib/core/plan";

const plan = (withSwitch: boolean): Plan => ({
    component: "pair",
    steps: [
        { id: "check", host: "h1", kind: "check", summary: "legacy layout", action: { forward: "true", inverse: "" } },
        { id: "install", host: "h2", summary: "install it", action: { forward: "true", inverse: "true" }, after: ["check"] },
        ...(withSwitch ? [{ id: "switch", host: "h1", summary: "switch window", notice: "writes refused for 1 s", action: { forward: "true", inverse: "true" }, after: ["install"] }] : []),
    ],
});

const input = (ops: Record<string, Operation>, planned: Plan | undefined, deployed: Plan | undefined): ReportInput => ({
    stack: "site-a",
    previewedAt: "2026-12-02T09:00:00.000Z",
    planFile: "approvals/site-a/x/plan.json",
    planSha256: "ab".repeat(32),
    fingerprints: { program: "p", config: "c", state: "s" },
    operations: new Map(Object.entries(ops)),
    planned: planned ? { pair: componentChangePlan("middleware:pair", "middleware:test:Pair", planned) } : {},
    deployed: deployed ? { pair: componentChangePlan("middleware:pair", "middleware:test:Pair", deployed) } : {},
    applyCommand: "npm run apply -- --stack site-a --plan approvals/site-a/x/plan.json",
});

describe("approval report", () => {
    it("folds a replacement's several preview steps into one operation", () => {
        let op: Operation | undefined;
        for (const o of ["create-replacement", "replace", "delete-replaced"]) op = foldOperation(op, o);
        assert.equal(op, "replace");
        assert.equal(foldOperation(undefined, "same"), "same");
        assert.equal(foldOperation("update", "same"), "update");
    });

    it("a new topology: every step in order, with its host, what clients notice, and the rollback's inverses last first", () => {
        const r = changeReport(input({ "pair-h1-check": "create", "pair-h2-install": "create", "pair-h1-switch": "create", "pair-vrrp": "create" }, plan(true), undefined));
        assert.match(r, /^## pair \(middleware:test:Pair, `middleware:pair`\): new$/m);
        assert.match(r, /^\| 1 \| h1 \| `check` \| create \| check: legacy layout \| nothing \|$/m);
        assert.match(r, /^\| 3 \| h1 \| `switch` \| create \| switch window \| writes refused for 1 s \|$/m);
        assert.match(r, /Clients notice 1 of these 3 steps/);
        assert.match(r, /1\. \[h1\] undo: switch window \(clients notice: writes refused for 1 s\)\n2\. \[h2\] undo: install it\n\n/);
        assert.match(r, /- Plan SHA-256: `(ab){32}`/);
        assert.match(r, /^- create `pair-vrrp`$/m, "resources that are not steps are listed apart");
    });

    it("a step the program no longer has is undone; unchanged steps are left out", () => {
        const r = changeReport(input({ "pair-h1-check": "same", "pair-h2-install": "same", "pair-h1-switch": "delete" }, plan(false), plan(true)));
        assert.match(r, /: changed$/m);
        assert.match(r, /^\| 1 \| h1 \| `switch` \| delete \| undo: switch window \| writes refused for 1 s \|$/m);
        assert.doesNotMatch(r, /`install` \|/);
    });

    it("a topology removed from the config is rolled back, last step first", () => {
        const r = changeReport(input({ "pair-h1-check": "delete", "pair-h2-install": "delete", "pair-h1-switch": "delete" }, undefined, plan(true)));
        assert.match(r, /: rolled back \(removed from the config\)$/m);
        assert.match(r, /\| 1 \| h1 \| `switch` \| delete .*\n\| 2 \| h2 \| `install` \| delete .*\n\| 3 \| h1 \| `check` \| delete \| forget \(nothing runs\): legacy layout/);
    });

    it("nothing to do", () => {
        const r = changeReport(input({ "pair-h1-check": "same", "pair-h2-install": "same" }, plan(false), plan(false)));
        assert.match(r, /: unchanged\n\nNo step runs\./);
    });
});
