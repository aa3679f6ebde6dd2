/**
 * Waves of sites: one operation (`preview`, `up` or `destroy`) over several site stacks of the
 * site program through the Automation API, at most N at a time. After the first failure no new
 * site starts (those under way finish); every site gets a summary line.
 *
 * @module
 */
import type { OpMap } from "@pulumi/pulumi/automation";
import { selectSite } from "./approval";

/** What a wave does to each site. */
export type WaveOperation = "preview" | "up" | "destroy";

/** One site's outcome. */
export interface SiteSummary {
    readonly stack: string;
    readonly result: "succeeded" | "failed" | "not started";
    /** Resource changes by operation (`create: 14`), as the engine counted them. */
    readonly changes: Record<string, number>;
    readonly seconds: number;
    /** The failure's first lines. */
    readonly error?: string;
}

/** Options of {@link runWave}. */
export interface WaveOptions {
    /** Sites at once. @default - 1 */
    readonly parallel?: number;
    /** Progress lines (a site starting, a site done). @default - none */
    readonly onProgress?: (line: string) => void;
}

async function runOne(op: WaveOperation, stackName: string): Promise<Record<string, number>> {
    const stack = await selectSite(stackName);
    const counts = (m: OpMap | Record<string, number> | undefined) => Object.fromEntries(Object.entries(m ?? {}).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number>;
    if (op === "preview") return counts((await stack.preview({})).changeSummary);
    if (op === "up") return counts((await stack.up({})).summary.resourceChanges);
    return counts((await stack.destroy({})).summary.resourceChanges);
}

/** The engine's diagnostic in a failed operation's message: the lines from its first `error:` on, without progress lines. */
function diagnosis(message: string): string {
    const lines = message
        .replace(/\x1b\[[0-9;]*m/g, "")
        .split("\n")
        .filter((l) => !/^\s*[+~-]?\s+pulumi:pulumi:Stack |stderr: Command failed|^\s*at /.test(l));
    const from = Math.max(0, lines.findIndex((l) => /^\s*error: /.test(l)));
    const rest = lines.slice(from);
    // An exception's printed object follows its message; the message is what the operator needs.
    const end = rest.findIndex((l, i) => i > 0 && /^\s*(__\w+:|\{|errors:)/.test(l));
    return rest.slice(0, Math.min(end < 0 ? rest.length : end, 8)).map((l) => l.trim()).filter(Boolean).join("\n");
}

/** Runs `op` over `stacks` in their order, at most `parallel` at a time; resolves with one summary per stack, in order. */
export async function runWave(op: WaveOperation, stacks: readonly string[], opts: WaveOptions = {}): Promise<SiteSummary[]> {
    const parallel = opts.parallel ?? 1;
    if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`--parallel ${parallel}: expected a whole number of 1 or more`);
    const say = opts.onProgress ?? (() => undefined);
    const summaries = new Map<string, SiteSummary>();
    let next = 0;
    let failed = false;
    const worker = async () => {
        while (!failed && next < stacks.length) {
            const stack = stacks[next++];
            say(`${stack}: ${op} started`);
            const started = Date.now();
            try {
                const changes = await runOne(op, stack);
                summaries.set(stack, { stack, result: "succeeded", changes, seconds: (Date.now() - started) / 1000 });
                say(`${stack}: ${op} succeeded`);
            } catch (e) {
                failed = true;
                const message = e instanceof Error ? e.message : String(e);
                summaries.set(stack, { stack, result: "failed", changes: {}, seconds: (Date.now() - started) / 1000, error: diagnosis(message) });
                say(`${stack}: ${op} FAILED; no new site starts`);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, stacks.length) }, worker));
    return stacks.map((s) => summaries.get(s) ?? { stack: s, result: "not started", changes: {}, seconds: 0 });
}

/** The summary as a table, one line per site. */
export function waveTable(op: WaveOperation, summaries: readonly SiteSummary[]): string {
    const rows = summaries.map((s) => [s.stack, s.result, Object.entries(s.changes).map(([k, n]) => `${k} ${n}`).join(", ") || "-", s.result === "not started" ? "-" : `${s.seconds.toFixed(1)} s`]);
    const header = ["site", "result", "changes", "duration"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    const failures = summaries.filter((s) => s.error).map((s) => `${s.stack}: ${s.error}`);
    return [`${op} wave:`, line(header), ...rows.map(line), ...failures].join("\n");
}
