/**
 * Plans: which steps run on which hosts, in which order. A plan is plain data computed from a
 * component's arguments; unit tests assert on it and the change-approval report prints it.
 * Components turn plans into resources with `materialize`.
 *
 * @module
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Reversible } from "./actions/reversible";

/** Whether a step only inspects (a pre-check) or changes the host. */
export type StepKind = "check" | "change";

/** How a step is redone when its forward action or triggers change. */
export type ReplaceOrder =
    /** Run the old inverse first, then the new forward action (`deleteBeforeReplace`). */
    | "inverse-first"
    /** Run the new forward action first, then the old inverse (side-by-side installs). */
    | "forward-first";

/** One step of a plan. */
export interface PlannedStep {
    /** Unique within the plan; part of the resource name, so it must never change. */
    readonly id: string;
    /** Inventory name of the host the step runs on. */
    readonly host: string;
    /** One line for the approval report, in the operator's words. */
    readonly summary: string;
    /** @default - `change` */
    readonly kind?: StepKind;
    /**
     * What clients of the topology notice while the step runs, and for how long, in the
     * operator's words with the bench figure it comes from. Printed in the approval report.
     * @default - nothing: clients are not affected
     */
    readonly notice?: string;
    /** The scripts. */
    readonly action: Reversible;
    /** Ids of the steps that must complete first. @default - none */
    readonly after?: readonly string[];
    /** @default - empty stdin */
    readonly stdin?: pulumi.Input<string>;
    /** What the step's outcome depends on; a change redoes it. @default - never redone */
    readonly triggers?: readonly pulumi.Input<unknown>[];
    /** Redo the step when its stdin changes (config files on stdin). @default - false */
    readonly redoWhenStdinChanges?: boolean;
    /** @default - `inverse-first` */
    readonly replace?: ReplaceOrder;
    /** @default - 600 seconds */
    readonly timeoutSeconds?: number;
    /**
     * Protect the step from deletion: `destroy` fails instead of running its inverse. Used once
     * a site has accepted a migration (`finalize`).
     * @default - false
     */
    readonly protect?: boolean;
}

/** The steps of one component. */
export interface Plan {
    /** The component's name; prefixes resource names and journal lines. */
    readonly component: string;
    /** The steps, in any order: `after` defines the order. */
    readonly steps: readonly PlannedStep[];
}

/** The steps in an order that respects `after`; throws on unknown ids, duplicates and cycles. */
export function inOrder(plan: Plan): PlannedStep[] {
    const byId = new Map<string, PlannedStep>();
    for (const s of plan.steps) {
        if (byId.has(s.id)) throw new Error(`${plan.component}: two steps have the id '${s.id}'`);
        byId.set(s.id, s);
    }
    const done = new Set<string>();
    const visiting = new Set<string>();
    const ordered: PlannedStep[] = [];
    const visit = (s: PlannedStep, from: string[]) => {
        if (done.has(s.id)) return;
        if (visiting.has(s.id)) throw new Error(`${plan.component}: steps wait on each other: ${[...from, s.id].join(" -> ")}`);
        visiting.add(s.id);
        for (const id of s.after ?? []) {
            const before = byId.get(id);
            if (!before) throw new Error(`${plan.component}: step '${s.id}' waits on unknown step '${id}'`);
            visit(before, [...from, s.id]);
        }
        visiting.delete(s.id);
        done.add(s.id);
        ordered.push(s);
    };
    for (const s of plan.steps) visit(s, []);
    return ordered;
}

/** One step of a plan as the approval report shows it. */
export interface PlanRow {
    /** Position in an order the engine may run the steps, from 1. */
    readonly order: number;
    /** The step's resource name: `<component>-<host>-<id>`. */
    readonly resource: string;
    readonly id: string;
    readonly host: string;
    readonly kind: StepKind;
    readonly summary: string;
    /** @default - empty: clients are not affected */
    readonly notice: string;
    /** Whether `destroy` runs the step's inverse (false for pre-checks and protected steps). */
    readonly reversible: boolean;
    /** A change with no inverse (removing the legacy backups): what it does cannot be undone. */
    readonly irreversible: boolean;
    /** Whether the step is protected: `destroy` fails instead of running its inverse. */
    readonly protected: boolean;
}

/** The rows of a plan, in an order the engine may run them; plain data, so a stack can export it. */
export function planRows(plan: Plan): PlanRow[] {
    return inOrder(plan).map((s, i) => ({
        order: i + 1,
        resource: `${plan.component}-${s.host}-${s.id}`,
        id: s.id,
        host: s.host,
        kind: s.kind ?? "change",
        summary: s.summary,
        notice: s.notice ?? "",
        reversible: (s.kind ?? "change") === "change" && !s.protect && s.action.inverse.trim() !== "",
        irreversible: (s.kind ?? "change") === "change" && s.action.inverse.trim() === "",
        protected: s.protect ?? false,
    }));
}

/** The approval report of a plan: one line per step, in an order the engine may run them. */
export function describePlan(plan: Plan): string {
    const lines = inOrder(plan).map((s, i) => {
        const after = s.after?.length ? ` (after ${s.after.join(", ")})` : "";
        return `${String(i + 1).padStart(3)}. [${s.host}] ${s.kind === "check" ? "check: " : ""}${s.summary}${after}`;
    });
    return [`${plan.component}: ${plan.steps.length} steps`, ...lines].join("\n");
}
