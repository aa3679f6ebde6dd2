/**
 * The framing every pre-check shares: its body calls `mw_problem TEXT` for each problem it finds
 * and goes on, so that one run lists them all; the check then fails naming them, or passes.
 *
 * @module
 */
import { raw, sh } from "../shell";

/**
 * A pre-check's body framed with `mw_problem` before it and the verdict after it:
 * `middleware: pre-check failed on this <what>:` and the problems, one per line, on stderr (exit
 * 1), or `middleware: pre-check passed (<what>)`.
 */
export function precheckFraming(body: string, what: string): string {
    return sh`mw_problems=''
mw_problem() { mw_problems="$mw_problems
  - $1"; }
${raw(body)}
if [ -n "$mw_problems" ]; then
    printf 'middleware: pre-check failed on this %s:%s\\n' ${what} "$mw_problems" >&2
    exit 1
fi
echo ${`middleware: pre-check passed (${what})`}
`;
}
