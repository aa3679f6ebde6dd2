/**
 * What an engine scenario measures as it goes: each figure printed when noted, all of them again
 * at the end of the test file, and the durations of engine operations.
 */
export class ScenarioFigures {
    /** Durations and client figures, in the order noted. */
    readonly figures: string[] = [];

    /** Records a figure and prints it. */
    note(line: string): void {
        this.figures.push(line);
        console.log(`      ${line}`);
    }

    /** Runs an engine operation and records its duration; a failure is returned, not thrown. */
    async timed<T>(what: string, op: () => Promise<T>): Promise<{ result?: T; error?: Error; ms: number }> {
        const started = Date.now();
        try {
            const result = await op();
            const ms = Date.now() - started;
            this.note(`${what}: ${(ms / 1000).toFixed(1)} s`);
            return { result, ms };
        } catch (e) {
            const ms = Date.now() - started;
            this.note(`${what} (failed): ${(ms / 1000).toFixed(1)} s`);
            return { error: e as Error, ms };
        }
    }

    /** Prints every figure noted. */
    printFigures(): void {
        if (this.figures.length) console.log(`      figures:\n${this.figures.map((f) => `        ${f}`).join("\n")}`);
    }
}
