/**
 * The change report for a ticket: per topology, the ordered steps of the change with the host,
 * what each does, what clients notice, and how the change is rolled back; bound to a saved
 * Pulumi update plan by its SHA-256. Pure: the approval tool gathers the inputs.
 *
 * @module
 */
import type { PlanRow } from "../core/plan";
import type { ChangePlan, ComponentChangePlan } from "./change-plan";

/** What the engine does to a resource, as the preview said, folded to one word. */
export type Operation = "create" | "update" | "replace" | "delete" | "same";

/** SHA-256 digests of what an approval is bound to; `apply` refuses when one differs. */
export interface Fingerprints {
    /** The program: Pulumi.yaml, the lockfile and the program's and library's sources. */
    readonly program: string;
    /** The stack's config file and the inventory it names. */
    readonly config: string;
    /** The stack's deployed state: every resource with its inputs and outputs. */
    readonly state: string;
}

/** Inputs of {@link changeReport}. */
export interface ReportInput {
    readonly stack: string;
    /** UTC time of the preview, ISO 8601. */
    readonly previewedAt: string;
    /** The saved update plan, as the operator will pass it to `apply`. */
    readonly planFile: string;
    readonly planSha256: string;
    readonly fingerprints: Fingerprints;
    /** The engine's operation per resource name, from the preview; the stack and providers left out. */
    readonly operations: ReadonlyMap<string, Operation>;
    /** The change plan of the previewed program (the preview's `changePlan` output). */
    readonly planned: ChangePlan;
    /** The change plan of the last update (the stack's current `changePlan` output). */
    readonly deployed: ChangePlan;
    /** The command that carries out this approval. */
    readonly applyCommand: string;
}

/** Folds the preview's step operations of one resource (`create-replacement`, `delete-replaced`, ...) into one. */
export function foldOperation(previous: Operation | undefined, op: string): Operation {
    const folded: Operation =
        op === "create" ? "create"
        : op === "delete" ? "delete"
        : op === "update" ? "update"
        : /replace/.test(op) ? "replace"
        : "same";
    const rank: Record<Operation, number> = { same: 0, update: 1, create: 2, delete: 2, replace: 3 };
    return previous !== undefined && rank[previous] >= rank[folded] ? previous : folded;
}

interface ReportRow extends PlanRow {
    readonly op: Operation;
}

/** The rows of one component that the change touches, in the order they run. */
function componentRows(planned: ComponentChangePlan | undefined, deployed: ComponentChangePlan | undefined, ops: ReadonlyMap<string, Operation>): ReportRow[] {
    const opOf = (r: PlanRow, fallback: Operation) => ops.get(r.resource) ?? fallback;
    const forward = (planned?.steps ?? []).map((r) => ({ ...r, op: opOf(r, "same") }));
    const kept = new Set(forward.map((r) => r.resource));
    // Steps of the last update that the new program no longer has are deleted, last first.
    const removed = [...(deployed?.steps ?? [])].filter((r) => !kept.has(r.resource)).reverse().map((r) => ({ ...r, op: opOf(r, "delete") }));
    return [...removed, ...forward].filter((r) => r.op !== "same");
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function doneBy(r: ReportRow): string {
    if (r.op === "delete") return r.reversible ? `undo: ${r.summary}` : `forget (nothing runs): ${r.summary}`;
    if (r.op === "update") return `record new connection or secrets in place (nothing runs on the host): ${r.summary}`;
    if (r.op === "replace") return `redo: ${r.summary}`;
    return r.kind === "check" ? `check: ${r.summary}` : r.summary;
}

function rollbackOf(name: string, c: ComponentChangePlan, stack: string): string[] {
    const undo = [...c.steps].filter((r) => r.reversible).reverse();
    const guarded = c.steps.filter((r) => r.kind === "change" && !r.reversible);
    const lines = [
        `Rollback: \`pulumi destroy --stack ${stack}\` (the whole site), or remove \`${c.configKey}\` from the stack's config and approve that change; the engine runs these inverses, in this order:`,
        "",
        ...undo.map((r, i) => `${i + 1}. [${r.host}] undo: ${r.summary}${r.notice ? ` (clients notice: ${r.notice})` : ""}`),
    ];
    if (undo.length === 0) lines.push("(no step of this change has an inverse)");
    if (guarded.length > 0) {
        lines.push("", `Not reversible: ${guarded.map((r) => `\`${r.id}\` on ${r.host}`).join(", ")} (protected once the site is finalized: \`destroy\` fails instead of rolling ${name} back).`);
    }
    return lines;
}

/** The Markdown report. */
export function changeReport(input: ReportInput): string {
    const names = [...new Set([...Object.keys(input.deployed), ...Object.keys(input.planned)])];
    const counts = new Map<Operation, number>();
    for (const op of input.operations.values()) counts.set(op, (counts.get(op) ?? 0) + 1);
    const summary = (["create", "replace", "update", "delete", "same"] as const)
        .filter((op) => counts.get(op))
        .map((op) => `${counts.get(op)} to ${op === "same" ? "leave unchanged" : op}`)
        .join(", ");
    const out = [
        `# Change report: stack \`${input.stack}\``,
        "",
        `Previewed ${input.previewedAt}. Resources: ${summary || "none"}.`,
        "",
        `- Plan file: \`${input.planFile}\``,
        `- Plan SHA-256: \`${input.planSha256}\``,
        `- Program SHA-256: \`${input.fingerprints.program}\``,
        `- Config SHA-256: \`${input.fingerprints.config}\``,
        `- Deployed state SHA-256: \`${input.fingerprints.state}\``,
        "",
        `Carry it out with \`${input.applyCommand}\`: it refuses when the program, the config or the deployed state differ from the above, and Pulumi refuses any operation beyond the plan.`,
    ];
    for (const name of names) {
        const planned = input.planned[name];
        const deployed = input.deployed[name];
        const c = (planned ?? deployed)!;
        const rows = componentRows(planned, deployed, input.operations);
        const what = !planned ? "rolled back (removed from the config)" : !deployed ? "new" : rows.length === 0 ? "unchanged" : "changed";
        out.push("", `## ${name} (${c.type}, \`${c.configKey}\`): ${what}`, "");
        if (rows.length === 0) {
            out.push("No step runs.");
        } else {
            out.push("| # | host | step | operation | what it does | clients notice |", "|---|---|---|---|---|---|");
            rows.forEach((r, i) => out.push(`| ${i + 1} | ${r.host} | \`${r.id}\` | ${r.op} | ${cell(doneBy(r))} | ${cell(r.op === "update" ? "" : r.notice) || "nothing"} |`));
            const noticed = rows.filter((r) => r.notice && r.op !== "update");
            out.push("", noticed.length ? `Clients notice ${noticed.length} of these ${rows.length} steps (see the last column).` : "Clients notice none of these steps.");
        }
        if (planned) out.push("", ...rollbackOf(name, planned, input.stack));
    }
    const inRows = new Set(names.flatMap((name) => (input.planned[name] ?? input.deployed[name])!.steps.map((r) => r.resource)));
    const others = [...input.operations].filter(([n, op]) => op !== "same" && !inRows.has(n) && !names.includes(n));
    if (others.length) {
        out.push("", "## Other resources", "", "Readiness polls (`<component>-<host>-ready`) and generated secrets; nothing else runs on the hosts.", "", ...others.map(([n, op]) => `- ${op} \`${n}\``));
    }
    return out.join("\n") + "\n";
}
