/**
 * The shape every action returns and the few shell fragments actions share.
 *
 * Action bodies are meant to be wrapped by `renderScript`: they rely on `set -eu` and on
 * `$MW_STEP_DIR`, the step's private directory under the state dir for markers and backups.
 *
 * @module
 */
import { raw, sh } from "../shell";

/** A forward body and its exact inverse, both POSIX `sh` bodies for `renderScript`. */
export interface Reversible {
    /** Runs on `pulumi up`; idempotent, so a resumed run can repeat it. */
    readonly forward: string;
    /** Runs on `pulumi destroy` (or replacement); undoes the forward body, also idempotent. */
    readonly inverse: string;
}

/**
 * Joins actions into one: forwards in the given order, inverses in the reverse order.
 *
 * @param actions - the actions of one step, in forward order
 */
export function inSequence(...actions: readonly Reversible[]): Reversible {
    return {
        forward: actions.map((a) => a.forward).join("\n"),
        inverse: [...actions].reverse().map((a) => a.inverse).join("\n"),
    };
}

/** Fragment: print `middleware: <message>` on stderr and exit 1. The message is quoted. */
export function fail(message: string): string {
    return sh`{ printf '%s\\n' ${`middleware: ${message}`} >&2; exit 1; }`;
}

/** Fragment: print `middleware: <message>` on stdout. The message is quoted. */
export function note(message: string): string {
    return sh`printf '%s\\n' ${`middleware: ${message}`}`;
}

/** Fragment: true when the quoted path exists, dangling symlinks included. */
export function exists(path: string): string {
    return sh`{ [ -e ${path} ] || [ -L ${path} ]; }`;
}

/**
 * Shell expression (double-quoted) of a directory under the step's private directory.
 *
 * @param parts - literal names chosen by the library (validated names only)
 */
export function stepPath(...parts: readonly string[]): string {
    return `"$MW_STEP_DIR/${parts.join("/")}"`;
}

/**
 * Fragment: create a directory only root can read, for markers and backups that may hold
 * copies of secret-bearing files.
 *
 * @param dirExpression - a shell expression from {@link stepPath}
 */
export function makePrivateDir(dirExpression: string): string {
    return sh`(umask 077 && mkdir -p ${raw(dirExpression)})`;
}

/** The file under the state dir that arms one crash point (see {@link crashPoint}). */
export const CRASH_POINT_FILE = "crash-point";
/** What an armed crash point is renamed to when a script reaches it. */
export const CRASH_POINT_REACHED_FILE = "crash-point.reached";
/** Exit code of a script that stopped at an armed crash point and was not killed there. */
export const CRASH_POINT_EXIT_CODE = 86;

/**
 * Fragment: a named point between two commands of a step, where a test can stop the script
 * to kill its host exactly there (a failpoint, like etcd's gofail).
 *
 * Unarmed it is one `test -e` of a file that nothing but a test creates: the step behaves as
 * without it. A test arms a point by writing `<component> <step> <forward|inverse> <name>` to
 * `<state dir>/crash-point` on the host (root only); the script that reaches exactly that point
 * renames the file to `crash-point.reached` (so it fires once) and sleeps, for the test to kill
 * the host; if nobody does, it exits with {@link CRASH_POINT_EXIT_CODE} after 60 s, having
 * changed nothing more. Point names are unique within one direction of a step; tests find them
 * in the rendered script by the comment `# crash point: <name>`.
 *
 * @param name - a literal chosen by the library (letters, digits, spaces and `. _ / : + @ -`)
 */
export function crashPoint(name: string): string {
    if (!/^[A-Za-z0-9 ._/:+@-]{1,200}$/.test(name)) throw new Error(`crashPoint: ${JSON.stringify(name)} is not a point name`);
    const armed = `"$MW_STATE_DIR/${CRASH_POINT_FILE}"`;
    const reached = `"$MW_STATE_DIR/${CRASH_POINT_REACHED_FILE}"`;
    return `# crash point: ${name}
[ ! -e ${armed} ] || [ "$(cat ${armed})" != "$MW_COMPONENT $MW_STEP $MW_DIRECTION ${name}" ] || { mv -f ${armed} ${reached}; echo "middleware: stopped at crash point ${name}" >&2; sleep 60; exit ${CRASH_POINT_EXIT_CODE}; }
`;
}

/** The crash points of a rendered body or script, in order (see {@link crashPoint}). */
export function crashPointsOf(script: string): string[] {
    return [...script.matchAll(/^# crash point: (.+)$/gm)].map((m) => m[1]);
}
