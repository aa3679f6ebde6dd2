/**
 * What a failed `pulumi up` or `destroy` said in the library's own words: the lines of its steps
 * (`middleware: ...`, `its inverse ...`, `undoing ...`) and the engine's `error: <topology>/<step>
 * ...` lines (not its `error: Process exited ...`, which quotes the whole script), once each:
 * the tail of the engine's output (the resource tree and its outputs) may not reach them.
 */
export function libraryLines(failure: Error): string[] {
    return [...new Set(failure.message.split("\n").map((l) => l.trim()).filter((l) => /^(error: [a-z]+\/|middleware: |its inverse|undoing)/.test(l)))];
}

/** {@link libraryLines} for an assertion's message, or the output's tail when there are none. */
export function said(failure: Error): string {
    const lines = libraryLines(failure);
    return lines.length ? lines.join("\n") : failure.message.slice(-3000);
}
