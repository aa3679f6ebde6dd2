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
