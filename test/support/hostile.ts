/**
 * Hostile file names for real-host tests: each one a single path segment (no `/`, no NUL)
 * that breaks scripts which forget to quote, split words, expand globs or parse options.
 * (test/unit/core/shell.test.ts has the long list of hostile values; importing a test file
 * would register its tests again, so the file-name subset lives here.)
 */
export const HOSTILE_FILE_NAMES: readonly string[] = [
    "'",
    "a'b\"c",
    "$(touch pwned)",
    "`touch pwned`",
    "${IFS}x",
    "line\nbreak",
    "-rf",
    "--help",
    "*",
    "; touch pwned #",
    "a b  c",
    " lead-and-trail ",
    "é日本語😀",
    "\u202eevil\u202c",
    "back\\slash",
    "tab\there",
];
