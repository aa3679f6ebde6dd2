/**
 * What a failed `pulumi up` said, for an assertion's message: the library's own lines
 * (`middleware: ...`, one each), which the tail of the engine's output (the resource tree and
 * its outputs) may not reach.
 */
export function said(failure: Error): string {
    const lines = [...new Set(failure.message.split("\n").map((l) => l.trim()).filter((l) => /^(middleware: |error: )/.test(l)))];
    return lines.length ? lines.join("\n") : failure.message.slice(-3000);
}
