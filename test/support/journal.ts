/**
 * The journal that every Step script appends to on its host (`/var/lib/middleware/journal`,
 * see lib/core/script.ts), read back from sandbox hosts and merged across hosts by time.
 */
import { exec } from "../../sandbox";
import { READY_STEP } from "../../lib/core/materialize";
import { DEFAULT_STATE_DIR } from "../../lib/core/script";

/** One journal line. */
export interface JournalLine {
    readonly host: string;
    /** UTC with nanoseconds; sorts as text. */
    readonly time: string;
    readonly component: string;
    readonly step: string;
    readonly direction: "forward" | "inverse";
    /** `ok` or `failed(N)`. */
    readonly outcome: string;
    /** Line number in the host's journal, from 0. */
    readonly index: number;
}

/** Every line of a host's journal (none when it has no journal yet). */
export async function readJournal(host: string): Promise<JournalLine[]> {
    const r = await exec(host, `cat ${DEFAULT_STATE_DIR}/journal 2>/dev/null || :`);
    if (r.code !== 0) throw new Error(`journal of ${host}: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l !== "").map((line, index) => {
        const [time, component, step, direction, outcome, ...rest] = line.split("\t");
        if (rest.length || outcome === undefined) throw new Error(`${host}: malformed journal line ${JSON.stringify(line)}`);
        return { host, time, component, step, direction: direction as JournalLine["direction"], outcome, index };
    });
}

/** Where each host's journal ends now: pass it to {@link journalSince} to see only later lines. */
export type JournalMark = Readonly<Record<string, number>>;

/** The current length of the journal of each host. */
export async function journalMark(hosts: readonly string[]): Promise<JournalMark> {
    const mark: Record<string, number> = {};
    for (const h of hosts) mark[h] = (await readJournal(h)).length;
    return mark;
}

/**
 * The lines of `component` written on the hosts of `mark` after it was taken, merged across
 * hosts and sorted by time (the hosts share one clock).
 */
export async function journalSince(mark: JournalMark, component: string): Promise<JournalLine[]> {
    const all: JournalLine[] = [];
    for (const [h, from] of Object.entries(mark)) {
        all.push(...(await readJournal(h)).filter((l) => l.index >= from && l.component === component));
    }
    return all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** `step direction outcome` per line, for compact assertions. */
export function brief(lines: readonly JournalLine[], withHost = false): string[] {
    return lines.map((l) => `${withHost ? `${l.host} ` : ""}${l.step} ${l.direction} ${l.outcome}`);
}

/** What `op` ran of `component` on `hosts`, readiness polls left out, as `host step direction outcome`. */
export async function storyOf(hosts: readonly string[], component: string, op: () => Promise<void>): Promise<string[]> {
    const mark = await journalMark(hosts);
    await op();
    return (await journalSince(mark, component)).filter((l) => l.step !== READY_STEP).map((l) => `${l.host} ${l.step} ${l.direction} ${l.outcome}`);
}
