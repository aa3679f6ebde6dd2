/** Progress lines go to stderr so that `inventory` and `status` output stays machine-readable. */
let quiet = false;

/** Silences progress lines (tests use this to keep their output readable). */
export function setQuiet(value: boolean): void {
    quiet = value;
}

/** Prints one progress line, prefixed with `sandbox:`. */
export function progress(message: string): void {
    if (!quiet) process.stderr.write(`sandbox: ${message}\n`);
}
