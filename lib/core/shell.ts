/**
 * The one quoting helper of the library. Every value that reaches a generated shell script
 * goes through {@link shellQuote}, usually via the {@link sh} tagged template.
 *
 * @module
 */

/**
 * A fragment of shell text that is spliced into an {@link sh} template verbatim.
 * Only create one with {@link raw}, and only from text the library or the operator wrote,
 * never from a value that came from configuration.
 */
export class RawShell {
    /** @param text - shell text that is trusted as it is */
    constructor(readonly text: string) {}

    /** The shell text, so that a fragment can also be concatenated as a string. */
    toString(): string {
        return this.text;
    }
}

/** A value that {@link sh} can interpolate: quoted when a string or number, verbatim when {@link RawShell}. */
export type ShellWord = string | number | RawShell;

/** What {@link sh} accepts in a `${...}` slot: a word, or a list of words joined by spaces. */
export type ShellValue = ShellWord | readonly ShellWord[];

// A lone UTF-16 surrogate has no UTF-8 encoding: it would reach the host as U+FFFD,
// so the script would silently operate on a different name than the one configured.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Quotes a value as one POSIX shell word: the whole value in single quotes, each `'` written
 * as `'\''`. Inside single quotes no character is special to `sh`, so the word is inert
 * (`$()`, backticks, `;`, globs, newlines all stay literal).
 *
 * @param value - any string
 * @returns the quoted word, always starting and ending with `'`
 * @throws Error if the value holds a NUL byte (no shell word can carry one) or a lone
 *   UTF-16 surrogate (no UTF-8 encoding exists, the host would see a different string)
 */
export function shellQuote(value: string): string {
    if (typeof value !== "string") {
        throw new TypeError(`shellQuote: expected a string, got ${typeof value}`);
    }
    if (value.includes("\0")) {
        throw new Error("shellQuote: a NUL byte cannot be passed to a shell; the value was rejected");
    }
    if (LONE_SURROGATE.test(value)) {
        throw new Error("shellQuote: the value is not well-formed Unicode (lone surrogate); it was rejected");
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Marks trusted shell text so that {@link sh} splices it verbatim instead of quoting it.
 * Use it to compose fragments built by {@link sh} itself, and for commands the operator
 * supplied as shell on purpose (documented as such where they are accepted).
 *
 * @param text - trusted shell text
 */
export function raw(text: string | RawShell): RawShell {
    return text instanceof RawShell ? text : new RawShell(text);
}

function word(value: ShellWord): string {
    if (value instanceof RawShell) {
        return value.text;
    }
    if (typeof value === "number") {
        if (!Number.isFinite(value)) {
            throw new Error(`sh: cannot interpolate the number ${value}`);
        }
        return shellQuote(String(value));
    }
    return shellQuote(value);
}

/**
 * Tagged template that builds shell text with every interpolated value quoted.
 *
 * - a string or number becomes one quoted word;
 * - an array becomes its elements as quoted words separated by spaces (an empty array
 *   becomes nothing);
 * - a {@link RawShell} (from {@link raw}) is spliced verbatim.
 *
 * The result is a plain string; to nest it in another template wrap it with {@link raw},
 * otherwise it is (safely) quoted as a single word.
 *
 * @example
 * sh`mv -- ${from} ${to}`            // mv -- '/app/redis' '/app/redis_bak'
 * sh`rm -f -- ${["/a b", "/c"]}`     // rm -f -- '/a b' '/c'
 * sh`if ${raw(test)}; then :; fi`    // test spliced as written
 */
export function sh(strings: TemplateStringsArray, ...values: readonly ShellValue[]): string {
    let out = strings[0];
    values.forEach((value, i) => {
        const text = Array.isArray(value) ? value.map(word).join(" ") : word(value as ShellWord);
        out += text + strings[i + 1];
    });
    return out;
}
