/**
 * Back up a file or directory by renaming it beside itself (`/app/redis` → `/app/redis_bak`).
 *
 * @module
 */
import { sh, raw } from "../shell";
import { checkAbsolutePath, Problems } from "../validate";
import { crashPoint, exists, fail, note, Reversible } from "./reversible";

/** Suffix appended to the backed-up path. */
export const DEFAULT_BACKUP_SUFFIX = "_bak";

/** Arguments of {@link backupPath}. */
export interface BackupPathArgs {
    /** File or directory to back up; absolute, normalised (see `checkAbsolutePath`), not `/`. */
    readonly path: string;
    /**
     * Appended to `path` to name the backup; letters, digits and `. _ + @ -`.
     * @default - `_bak` ({@link DEFAULT_BACKUP_SUFFIX})
     */
    readonly suffix?: string;
    /**
     * What a later action of the same step puts at `path` once it is backed up: a symbolic link
     * to this target. A repeated forward (a resumed step) that finds that link and the backup
     * counts the backup as done instead of refusing because both exist.
     * @default - nothing replaces `path`: both existing is always refused
     */
    readonly replacedBy?: string;
}

/**
 * Renames `path` to `path + suffix` (forward) and back (inverse). A rename keeps content,
 * modes, owners, timestamps and links exactly, and is instant on one file system.
 *
 * Guards, so that a resumed or repeated run is safe and nothing is ever overwritten:
 * - forward: no-op when only the backup exists; fails when both exist; fails when neither does;
 * - inverse: no-op when only `path` exists; fails when both exist; fails when neither does.
 *
 * A rename is atomic, so a crash leaves either `path` or its backup: a resumed forward or
 * inverse finds one of the states above. Each direction starts with a crash point
 * (`backup PATH`, `restore PATH`).
 *
 * @throws ConfigError when the path or suffix is invalid
 */
export function backupPath(args: BackupPathArgs): Reversible {
    const suffix = args.suffix ?? DEFAULT_BACKUP_SUFFIX;
    const p = new Problems()
        .check("backupPath.path", args.path, checkAbsolutePath)
        .check("backupPath.suffix", suffix, (s) =>
            typeof s === "string" && /^[A-Za-z0-9._+@-]{1,64}$/.test(s) ? [] : ["must be 1 to 64 of A-Z a-z 0-9 . _ + @ -"]);
    p.checkOptional("backupPath.replacedBy", args.replacedBy, checkAbsolutePath);
    if (args.path === "/") p.add("backupPath.path", "must not be /", args.path);
    p.throwIfAny("backupPath");
    const path = args.path;
    const backup = path + suffix;
    p.check("backupPath.path", backup, checkAbsolutePath).throwIfAny("backupPath");

    const replaced = args.replacedBy === undefined
        ? "false"
        : sh`{ [ -L ${path} ] && [ "$(readlink ${path})" = ${args.replacedBy} ] && ${raw(exists(backup))}; }`;
    const forward = sh`${raw(crashPoint(`backup ${path}`))}if ${raw(replaced)}; then
    ${raw(note(`${path} already backed up to ${backup} and replaced by the link to ${args.replacedBy ?? ""}`))}
elif ${raw(exists(path))}; then
    if ${raw(exists(backup))}; then
        ${raw(fail(`refusing to back up ${path}: ${backup} already exists (both exist; resolve by hand)`))}
    fi
    mv -- ${path} ${backup}
    ${raw(note(`backed up ${path} to ${backup}`))}
elif ${raw(exists(backup))}; then
    ${raw(note(`${path} already backed up to ${backup}`))}
else
    ${raw(fail(`cannot back up ${path}: neither it nor ${backup} exists`))}
fi
`;
    const inverse = sh`${raw(crashPoint(`restore ${path}`))}if ${raw(exists(backup))}; then
    if ${raw(exists(path))}; then
        ${raw(fail(`refusing to restore ${backup}: ${path} exists too (both exist; resolve by hand)`))}
    fi
    mv -- ${backup} ${path}
    ${raw(note(`restored ${path} from ${backup}`))}
elif ${raw(exists(path))}; then
    ${raw(note(`${path} already restored`))}
else
    ${raw(fail(`cannot restore ${path}: neither it nor ${backup} exists`))}
fi
`;
    return { forward, inverse };
}
