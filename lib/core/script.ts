/**
 * Wraps a Step's shell body into the complete script that runs on the host: strict mode,
 * the host-wide lock and the journal line. The one place where a Step's script is framed.
 *
 * @module
 */
import { raw, sh, shellQuote } from "./shell";
import { checkAbsolutePath, checkName, checkSeconds, Problems } from "./validate";

/** Where scripts keep the lock, the journal and the markers of each step. */
export const DEFAULT_STATE_DIR = "/var/lib/middleware";

/** How long a script waits for another run on the same host to release the lock. */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 600;

/** Exit code of a script that gave up waiting for the host lock (`EX_TEMPFAIL`). */
export const LOCK_BUSY_EXIT_CODE = 75;

/** Exit code of a script that found no secret on stdin (`EX_NOINPUT`). */
export const NO_SECRET_EXIT_CODE = 66;

/** Exit code of a script stopped by its time limit (`timeout`'s). */
export const TIMED_OUT_EXIT_CODE = 124;

/**
 * Where a forward script keeps its stdin while it runs, so that its undo can read the same
 * secrets: a tmpfs on the hosts this library supports, cleared at boot; mode 0700.
 */
export const STDIN_DIR = "/run/middleware";

/** Which script of a Step: the forward action (`pulumi up`) or its inverse (`pulumi destroy`). */
export type Direction = "forward" | "inverse";

/** Options of {@link renderScript}. */
export interface ScriptOptions {
    /** Component (topology instance) the step belongs to; a name per `checkName`. */
    readonly component: string;
    /** Step name within the component; a name per `checkName`. */
    readonly step: string;
    /** Whether this is the forward script or its inverse; written to the journal. */
    readonly direction: Direction;
    /**
     * The step's POSIX `sh` body, built with `sh`. It runs after the lock is held, under
     * `set -eu`, with `$MW_STATE_DIR`, `$MW_COMPONENT`, `$MW_STEP` and `$MW_STEP_DIR` set.
     * Secrets are not part of it: the Step feeds them on stdin (see {@link readSecretFromStdin}).
     */
    readonly body: string;
    /**
     * Seconds to wait for another run holding the host lock before failing with
     * {@link LOCK_BUSY_EXIT_CODE}.
     * @default - 600 seconds ({@link DEFAULT_LOCK_TIMEOUT_SECONDS})
     */
    readonly lockTimeoutSeconds?: number;
    /**
     * Directory on the host for the lock, the journal and step markers.
     * @default - `/var/lib/middleware` ({@link DEFAULT_STATE_DIR})
     */
    readonly stateDir?: string;
    /**
     * The inverse body, for a forward script: when the forward body fails (or is stopped by
     * its time limit) after the lock was taken, the script runs this before it exits, with the
     * same stdin, and still exits with the forward body's code. A failed forward step is not
     * in Pulumi's state, so nothing else would undo what it did; inverses are guarded no-ops
     * for whatever the forward body did not get to.
     * @default - no undo
     */
    readonly undo?: string;
    /**
     * Time limit of the body, enforced on the host: past it, the script's whole process group
     * gets SIGTERM (the body, its children, not daemons it started), the undo runs, and the
     * script exits with {@link TIMED_OUT_EXIT_CODE}. It holds even when the connection that
     * started the script is gone.
     * @default - no limit
     */
    readonly timeoutSeconds?: number;
    /**
     * The host's inventory name, for the messages a failed run prints (`<component>/<step> on
     * <host>: forward action failed with exit code N`).
     * @default - the messages name no host
     */
    readonly host?: string;
    /**
     * Where a forward script with `undo` keeps its stdin while it runs (mode 0700).
     * @default - `/run/middleware` ({@link STDIN_DIR}); a local step uses a folder of its state dir
     */
    readonly stdinDir?: string;
}

/**
 * Renders the complete script of one Step direction, for POSIX `sh` (tested with dash, Debian's `/bin/sh`).
 *
 * The script:
 * 1. `set -eu` and `umask 022`; creates the state directory;
 * 2. on exit, appends exactly one line to `<stateDir>/journal`:
 *    `<UTC ISO 8601 with nanoseconds>\t<component>\t<step>\t<forward|inverse>\t<ok|failed(N)>`;
 *    the nanoseconds order the lines of hosts that share one clock (GNU `date`);
 * 3. takes the host-wide `flock` on `<stateDir>/lock`, giving up after the timeout with exit
 *    code {@link LOCK_BUSY_EXIT_CODE} and a message on stderr;
 * 4. runs the body with the lock's file descriptor closed, so that daemons the body starts do
 *    not inherit the lock and hold it after the script ended;
 * 5. with `undo`: keeps stdin in a 0600 file under {@link STDIN_DIR} (removed on exit) and, when
 *    the body fails, runs the undo body after the journal line, which gets a line of its own
 *    (direction `inverse`); with `timeoutSeconds`: a watchdog stops the body at its time limit.
 *
 * Needs `flock` (util-linux) and GNU `date` (for `%N`) on the host.
 *
 * @throws ConfigError when the component, step, state dir or timeout are invalid
 */
export function renderScript(opts: ScriptOptions): string {
    const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
    const timeout = opts.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS;
    const p = new Problems()
        .check("component", opts.component, checkName)
        .check("step", opts.step, checkName)
        .check("direction", opts.direction, (d) => (d === "forward" || d === "inverse" ? [] : ["must be forward or inverse"]))
        .check("stateDir", stateDir, checkAbsolutePath)
        .check("lockTimeoutSeconds", timeout, checkSeconds(0));
    if (opts.timeoutSeconds !== undefined) p.check("timeoutSeconds", opts.timeoutSeconds, checkSeconds(1));
    if (opts.stdinDir !== undefined) p.check("stdinDir", opts.stdinDir, checkAbsolutePath);
    p.throwIfAny("renderScript");
    const lockBusy = `middleware: another run holds ${stateDir}/lock on this host; gave up after ${timeout} s`;
    const label = `${opts.component}/${opts.step}${opts.host ? ` on ${opts.host}` : ""}`;
    const what = opts.direction === "forward" ? "forward action" : "inverse";
    const undo = opts.undo ? undoFraming(opts.undo, label, opts.stdinDir ?? STDIN_DIR) : { setup: "", capture: "", run: "", input: "" };
    const watchdog = opts.timeoutSeconds === undefined ? "" : watchdogFraming(opts.timeoutSeconds, label);
    return sh`#!/bin/sh
# Generated by pulumi-middleware: ${raw(opts.component)} ${raw(opts.step)} ${raw(opts.direction)}
set -eu
umask 022
MW_STATE_DIR=${stateDir}
MW_COMPONENT=${opts.component}
MW_STEP=${opts.step}
MW_DIRECTION=${opts.direction}
MW_STEP_DIR="$MW_STATE_DIR/steps/$MW_COMPONENT/$MW_STEP"
MW_HELD=0
mkdir -p "$MW_STATE_DIR"
mw_journal() {
    if [ "$1" -eq 0 ]; then mw_outcome=ok; else mw_outcome="failed($1)"; fi
    printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" \\
        "$MW_COMPONENT" "$MW_STEP" "$MW_DIRECTION" "$mw_outcome" >>"$MW_STATE_DIR/journal" || :
}
${raw(undo.setup)}mw_watchdog=''
mw_failed() {
    if [ "$mw_rc" -ne 0 ]; then printf 'middleware: %s: %s failed with exit code %s\\n' ${label} ${what} "$mw_rc" >&2; fi
}
trap 'mw_rc=$?; trap - EXIT; set +e; if [ -n "$mw_watchdog" ]; then kill "$mw_watchdog" 2>/dev/null; fi; mw_failed; mw_journal "$mw_rc"; ${raw(undo.run)}exit "$mw_rc"' EXIT
# dash skips the EXIT trap when killed by a signal; turning signals into exits keeps the journal whole.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
${raw(undo.capture)}if ! command -v flock >/dev/null 2>&1; then
    echo 'middleware: flock (util-linux) is required on this host' >&2
    exit 127
fi
exec 9>>"$MW_STATE_DIR/lock"
if ! flock -w ${timeout} 9; then
    printf '%s\\n' ${lockBusy} >&2
    exit ${raw(String(LOCK_BUSY_EXIT_CODE))}
fi
MW_HELD=1
${raw(watchdog)}{
${raw(opts.body)}
} 9>&- ${raw(undo.input)}
`;
}

/**
 * The parts of a forward script that undo a failed body: stdin kept for the undo, the undo as a
 * function run from the EXIT trap (in a subshell under `set -eu`, with the lock's descriptor
 * closed), and its outcome on stderr.
 */
function undoFraming(body: string, label: string, stdinDir: string): { setup: string; capture: string; run: string; input: string } {
    const setup = sh`mw_stdin=''
mw_undo() {
    if [ "$MW_HELD" != 1 ] || [ "$mw_rc" -eq 0 ]; then return 0; fi
    if [ -n "$mw_stdin" ]; then exec 0<"$mw_stdin"; fi
    printf 'middleware: %s: running its inverse to undo what it did\\n' ${label} >&2
    (
        set -eu
${raw(body)}
    ) 9>&-
    mw_undo_rc=$?
    MW_DIRECTION=inverse
    mw_journal "$mw_undo_rc"
    if [ "$mw_undo_rc" -eq 0 ]; then
        printf 'middleware: %s: its inverse ran and undid what it had done\\n' ${label} >&2
    else
        printf 'middleware: %s: undoing it failed too (exit %s); the host needs a look\\n' ${label} "$mw_undo_rc" >&2
    fi
}
`;
    const capture = sh`mkdir -p ${stdinDir} && chmod 0700 ${stdinDir}
mw_stdin=$(mktemp ${`${stdinDir}/stdin.XXXXXX`})
cat >"$mw_stdin"
`;
    return { setup, capture, run: 'mw_undo; rm -f "$mw_stdin"; ', input: '<"$mw_stdin"' };
}

/**
 * A background watchdog that sends SIGALRM to the script's process group at the time limit. An
 * SSH exec session leads its own process group, so the signal reaches the body and its children
 * (daemons detach into their own sessions and are left alone); the ALRM trap then exits, which
 * runs the undo and the journal line. The watchdog holds none of the session's descriptors, so
 * it never keeps the session open; the EXIT trap ends it.
 */
function watchdogFraming(seconds: number, label: string): string {
    return sh`mw_timed_out() {
    printf 'middleware: %s did not finish within %s s and was stopped\\n' ${label} ${String(seconds)} >&2
    exit ${raw(String(TIMED_OUT_EXIT_CODE))}
}
trap mw_timed_out ALRM
mw_main=$$
# The EXIT trap's kill must end the watchdog and its sleep. Forked with TERM at its default
# action (an inherited trap would only run once a foreground sleep ended, and a kill before the
# watchdog's own trap was lost), it sleeps in the background and waits, which a trap interrupts.
trap - TERM
(
    trap 'kill "$mw_sleep" 2>/dev/null; exit 0' TERM
    mw_sleep=''
    sleep ${seconds} &
    mw_sleep=$!
    wait "$mw_sleep" || exit 0
    kill -s ALRM -- "-$mw_main" 2>/dev/null || kill -s ALRM "$mw_main"
) </dev/null >/dev/null 2>&1 9>&- &
mw_watchdog=$!
trap 'exit 143' TERM
`;
}

/**
 * The SSH exec command for a rendered script: runs it with `/bin/sh` whatever the login shell
 * of the SSH user is, and leaves stdin free for secrets and file contents.
 *
 * The script travels as one argument, so it must stay under the kernel's 128 KiB limit
 * for a single argument.
 */
export function remoteCommand(script: string): string {
    return `exec /bin/sh -c ${shellQuote(script)}`;
}

const SHELL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Shell fragment that reads one line from stdin into the variable `varName`, without echoing
 * it (echo is switched off when stdin is a terminal) and without a trailing newline. Fails
 * with {@link NO_SECRET_EXIT_CODE} when stdin has no (or an empty) line.
 *
 * Secrets never appear in the script, argv or environment: the Step feeds them on stdin, one
 * line per secret in the order the body reads them; anything after those lines (e.g. a config
 * file for `configFile`) is left unread for the next reader.
 *
 * @param varName - a shell identifier, e.g. `MW_PASSWORD`
 * @throws Error when `varName` is not a shell identifier
 */
export function readSecretFromStdin(varName: string): string {
    if (!SHELL_IDENTIFIER.test(varName)) {
        throw new Error(`readSecretFromStdin: ${JSON.stringify(varName)} is not a shell variable name`);
    }
    const missing = `middleware: expected a secret for ${varName} on stdin`;
    // `read` stops at the newline (a pipe is read byte by byte), so later readers get the rest.
    return sh`${raw(varName)}=''
if [ -t 0 ]; then stty -echo 2>/dev/null || :; fi
IFS= read -r ${raw(varName)} || :
if [ -t 0 ]; then stty echo 2>/dev/null || :; fi
if [ -z "$${raw(varName)}" ]; then
    printf '%s\\n' ${missing} >&2
    exit ${raw(String(NO_SECRET_EXIT_CODE))}
fi
`;
}

/** Options of {@link renderCheckScript}. */
export interface CheckScriptOptions {
    readonly component: string;
    readonly step: string;
    /** The check step's forward body: it must only read. */
    readonly body: string;
    /** @default - `/var/lib/middleware` ({@link DEFAULT_STATE_DIR}) */
    readonly stateDir?: string;
}

/**
 * Frames a check step's body for a pre-flight run outside the engine (`npm run precheck`): the
 * same variables and strict mode as {@link renderScript}, but no lock and no journal line, so the
 * run leaves nothing on the host.
 *
 * @throws ConfigError when the component, step or state dir are invalid
 */
export function renderCheckScript(opts: CheckScriptOptions): string {
    const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
    new Problems()
        .check("component", opts.component, checkName)
        .check("step", opts.step, checkName)
        .check("stateDir", stateDir, checkAbsolutePath)
        .throwIfAny("renderCheckScript");
    return sh`#!/bin/sh
# Generated by pulumi-middleware: ${raw(opts.component)} ${raw(opts.step)} pre-flight
set -eu
MW_STATE_DIR=${stateDir}
MW_COMPONENT=${opts.component}
MW_STEP=${opts.step}
MW_DIRECTION=forward
MW_STEP_DIR="$MW_STATE_DIR/steps/$MW_COMPONENT/$MW_STEP"
${raw(opts.body)}
`;
}
