/**
 * The shell function every step's waits share: poll a check until it passes, bounded by the
 * clock rather than by a count of tries (a try against an unreachable peer can take seconds).
 *
 * @module
 */
import { raw, sh } from "./shell";

/**
 * Shell text defining `mw_wait SECONDS WHAT CMD...`: runs CMD every `pollSeconds` until it
 * exits 0; after SECONDS of the clock prints `middleware: WHAT: not within SECONDS s` on stderr
 * and returns 1. The try that is running when the time is up is still waited for.
 *
 * @param pollSeconds - pause between tries (a switchover's waits poll fast: each pause is part
 *   of what clients wait)
 */
export function waitFunction(pollSeconds: number): string {
    if (!(pollSeconds > 0 && pollSeconds <= 60)) throw new RangeError(`waitFunction: pollSeconds must be in (0, 60], got ${pollSeconds}`);
    return sh`mw_wait() {
    mw_w_s=$1; mw_w_what=$2; shift 2; mw_w_end=$(( $(date +%s%N) / 1000000 + mw_w_s * 1000 ))
    until "$@"; do
        [ "$(( $(date +%s%N) / 1000000 ))" -lt "$mw_w_end" ] || { printf 'middleware: %s: not within %s s\\n' "$mw_w_what" "$mw_w_s" >&2; return 1; }
        sleep ${raw(String(pollSeconds))}
    done
}
`;
}
