import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { forgetStack, localStack, projectRoot } from "../../tools/engine";

/*
 * The policy pack (policy/) through the real engine: `pulumi preview --policy-pack policy` of a
 * program that keeps every rule, and of one program per rule that breaks exactly that rule.
 * (The site program itself passes the pack in test/engine/site-operations.test.ts, where `approve`
 * and `apply` apply it.)
 */

const program = path.join(__dirname, "fixtures", "policy");
const PROJECT = "policy-fixture";
const RULES = ["host-key-pinned", "one-topology-switching", "finalized-protected", "secrets-on-stdin-only"] as const;
const MODES = ["ok", "unpinned", "two-switching", "finalized-unprotected", "secret-in-clear"] as const;
type Mode = (typeof MODES)[number];

/** What a preview under the pack printed, and whether the engine refused it. */
interface Outcome {
    readonly refused: boolean;
    readonly text: string;
}

/** The rules whose violation the output reports. */
const violated = (o: Outcome) => RULES.filter((r) => new RegExp(`\\[mandatory\\]\\s+${r}\\s+\\(`).test(o.text));

describe("policy pack: one preview per rule of a program that breaks it", function () {
    const stacks = new Map<Mode, Stack>();
    const outcomes = new Map<Mode, Outcome>();

    before(async function () {
        this.timeout(600_000);
        // The previews are independent: side by side they take the time of one or two.
        await Promise.all(MODES.map(async (mode) => {
            const stack = await localStack(program, `policy-${mode}-${process.pid}`);
            stacks.set(mode, stack);
            await stack.setConfig("mode", { value: mode });
            let text = "";
            try {
                await stack.preview({ policyPacks: [path.join(projectRoot, "policy")], onOutput: (s) => (text += s) });
                outcomes.set(mode, { refused: false, text });
            } catch (e) {
                outcomes.set(mode, { refused: true, text: `${text}\n${e instanceof Error ? e.message : String(e)}` });
            }
        }));
    });

    after(async function () {
        this.timeout(120_000);
        for (const [mode, stack] of stacks) await forgetStack(stack, PROJECT, `policy-${mode}-${process.pid}`, program);
    });

    it("a program that keeps every rule passes", () => {
        const o = outcomes.get("ok")!;
        assert.deepEqual(violated(o), [], o.text);
        assert.equal(o.refused, false, o.text);
    });

    const cases: [Mode, (typeof RULES)[number], RegExp][] = [
        ["unpinned", "host-key-pinned", /step unpinned connects to 192\.0\.2\.13 without a pinned host key/],
        ["two-switching", "one-topology-switching", /2 topologies switch in one update \(alpha: switch; beta: switch\)/],
        ["finalized-unprotected", "finalized-protected", /alpha is finalized \(remove-backups cannot be undone\) but steps install, switch, remove-backups are not protected/],
        ["secret-in-clear", "secrets-on-stdin-only", /step leaky has a secret in clear in its create/],
    ];
    for (const [mode, rule, message] of cases) {
        it(`${rule}: the preview of a program that breaks it is refused, naming the rule and what broke it`, () => {
            const o = outcomes.get(mode)!;
            assert.deepEqual(violated(o), [rule], o.text);
            assert.match(o.text, message);
            assert.equal(o.refused, true, "a mandatory violation fails the preview");
        });
    }

    it("secrets-on-stdin-only also refuses a stdin the state would keep in clear", () => {
        assert.match(outcomes.get("secret-in-clear")!.text, /step leaky passes stdin without keeping it secret/);
    });
});
