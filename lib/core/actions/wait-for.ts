/**
 * Wait until a TCP port answers and/or a check passes: the readiness gate between steps.
 *
 * @module
 */
import { raw, sh } from "../shell";
import { checkAddress, checkPort, checkSeconds, Problems } from "../validate";
import { fail, note, Reversible } from "./reversible";

/** Host probed when only a port is given. */
export const DEFAULT_WAIT_HOST = "127.0.0.1";

/** Upper bound of one probe or check attempt, unless the interval is longer. */
export const MAX_ATTEMPT_SECONDS = 10;

/** Arguments of {@link waitFor}. Give `port`, `check` or both (then both must pass). */
export interface WaitForArgs {
    /**
     * TCP port that must accept a connection.
     * @default - no TCP probe; `check` alone decides
     */
    readonly port?: number;
    /**
     * Host whose `port` is probed, from the host the step runs on.
     * @default - `127.0.0.1` ({@link DEFAULT_WAIT_HOST})
     */
    readonly host?: string;
    /**
     * Shell that exits 0 when ready, e.g. `redis-cli -p 6379 ping | grep -q PONG`. Trusted:
     * written by the operator and run as is in a fresh `sh -c` (not the script's variables).
     * @default - no check; the TCP probe alone decides
     */
    readonly check?: string;
    /** Seconds after which the step fails, naming what it waited for. */
    readonly timeoutSeconds: number;
    /** Seconds between attempts. */
    readonly intervalSeconds: number;
}

// bash's /dev/tcp opens a real TCP connection. bash is Essential on Debian and in every RHEL
// base image, unlike nc (several incompatible variants, often absent), python or redis-cli;
// dash has no socket support at all. The host and port travel as arguments, not as code.
const TCP_PROBE = 'exec 3<>"/dev/tcp/$1/$2"';

/**
 * Forward: every `intervalSeconds` tries the TCP connection (`bash` `/dev/tcp`, each attempt
 * bounded by `timeout`) and/or the check, until both pass; fails after `timeoutSeconds` with
 * a message naming the host, port and check. Each attempt is limited to the interval, or
 * {@link MAX_ATTEMPT_SECONDS} when that is longer, and never beyond the timeout.
 *
 * Inverse: nothing (`:`); waiting has no effect to undo.
 *
 * @throws ConfigError when neither port nor check is given, or a value is invalid
 */
export function waitFor(args: WaitForArgs): Reversible {
    const host = args.host ?? DEFAULT_WAIT_HOST;
    const p = new Problems()
        .checkOptional("waitFor.port", args.port, checkPort)
        .check("waitFor.host", host, checkAddress)
        .check("waitFor.timeoutSeconds", args.timeoutSeconds, checkSeconds(1))
        .check("waitFor.intervalSeconds", args.intervalSeconds, checkSeconds(1));
    if (args.port === undefined && args.check === undefined) p.add("waitFor", "needs a port, a check or both", args);
    if (args.check !== undefined && (typeof args.check !== "string" || args.check.trim() === "" || args.check.includes("\0"))) {
        p.add("waitFor.check", "must be a non-empty shell command", args.check);
    }
    p.throwIfAny("waitFor");

    const attempt = Math.min(args.timeoutSeconds, Math.max(args.intervalSeconds, MAX_ATTEMPT_SECONDS));
    const tests: string[] = [];
    const what: string[] = [];
    if (args.port !== undefined) {
        tests.push(sh`timeout ${attempt} bash -c ${TCP_PROBE} mw-wait ${host} ${args.port} >/dev/null 2>&1`);
        what.push(`TCP ${host}:${args.port} to accept connections`);
    }
    if (args.check !== undefined) {
        tests.push(sh`timeout ${attempt} sh -c ${args.check} >/dev/null 2>&1`);
        what.push(`check \`${args.check}\` to pass`);
    }
    const waitedFor = what.join(" and ");
    const needBash = args.port === undefined ? "" : `command -v bash >/dev/null 2>&1 || ${fail("bash is needed on this host for the TCP probe")}\n`;

    const forward = sh`${raw(needBash)}mw_deadline=$(( $(date +%s%N) / 1000000 + ${raw(String(Math.round(args.timeoutSeconds * 1000)))} ))
while :; do
    if ${raw(tests.join(" && "))}; then break; fi
    if [ "$(( $(date +%s%N) / 1000000 ))" -ge "$mw_deadline" ]; then
        ${raw(fail(`gave up after ${args.timeoutSeconds} s waiting for ${waitedFor}`))}
    fi
    sleep ${args.intervalSeconds}
done
${raw(note(`ready: ${waitedFor}`))}
`;
    return { forward, inverse: ":\n" };
}
