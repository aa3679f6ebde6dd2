/**
 * Write a file from stdin atomically, keeping the original to put back on rollback.
 *
 * @module
 */
import * as path from "path";
import { raw, sh } from "../shell";
import { checkAbsolutePath, checkFileMode, checkOwner, Problems } from "../validate";
import { exists, fail, makePrivateDir, note, Reversible, stepPath } from "./reversible";

/** Mode of a file that did not exist before, when no `mode` is given. */
export const DEFAULT_NEW_FILE_MODE = "0644";

/** Arguments of {@link configFile}. */
export interface ConfigFileArgs {
    /** File to write; absolute and normalised (see `checkAbsolutePath`). Its directory must exist. */
    readonly path: string;
    /**
     * Octal mode of the written file, e.g. `0640`.
     * @default - the mode of the file it replaces, or `0644` for a new file
     */
    readonly mode?: string;
    /**
     * Owner of the written file, `user` or `user:group`.
     * @default - the owner of the file it replaces, or the SSH user for a new file
     */
    readonly owner?: string;
}

/**
 * Forward: saves what is at `path` (content, mode, owner and times via `cp -p`) under the step's
 * private directory, or a marker that it was absent, then writes **stdin** to a temporary file
 * beside `path` and renames it over `path`. The content comes on stdin so it may hold secrets:
 * it never appears in the script. Running forward again writes the content again but keeps
 * the first saved original.
 *
 * Inverse: puts the saved original back exactly (atomically), or removes the file if it was
 * absent, then forgets the saved copy; without a saved copy it does nothing.
 *
 * Refuses to replace anything that is not a regular file (symlinks included), so a link to a
 * shared file is never clobbered. Needs GNU coreutils (`mktemp`, `chmod --reference`).
 *
 * @throws ConfigError when the path, mode or owner are invalid
 */
export function configFile(args: ConfigFileArgs): Reversible {
    const p = new Problems()
        .check("configFile.path", args.path, checkAbsolutePath)
        .checkOptional("configFile.mode", args.mode, checkFileMode)
        .checkOptional("configFile.owner", args.owner, checkOwner);
    if (args.path === "/") p.add("configFile.path", "must not be /", args.path);
    p.throwIfAny("configFile");

    const file = args.path;
    const parent = path.posix.dirname(file);
    // '%' is outside the path charset, so the flattened name is unambiguous and readable.
    const key = file.slice(1).replace(/\//g, "%");
    const saved = stepPath("config", `${key}.state`);
    const original = stepPath("config", `${key}.orig`);
    const mode = args.mode !== undefined
        ? sh`chmod ${args.mode} "$mw_tmp"`
        : sh`if [ -f ${file} ]; then chmod --reference=${file} "$mw_tmp"; else chmod ${DEFAULT_NEW_FILE_MODE} "$mw_tmp"; fi`;
    const owner = args.owner !== undefined
        ? sh`chown ${args.owner} "$mw_tmp"`
        : sh`if [ -f ${file} ]; then chown --reference=${file} "$mw_tmp"; fi`;

    const forward = sh`[ -d ${parent} ] || ${raw(fail(`cannot write ${file}: directory ${parent} does not exist`))}
if ${raw(exists(file))} && { [ -L ${file} ] || [ ! -f ${file} ]; }; then
    ${raw(fail(`refusing to replace ${file}: it is not a regular file (symlink, directory or device)`))}
fi
${raw(makePrivateDir(stepPath("config")))}
if [ ! -e ${raw(saved)} ]; then
    if [ -f ${file} ]; then
        cp -p -- ${file} ${raw(original)}.tmp
        mv -f ${raw(original)}.tmp ${raw(original)}
        echo present >${raw(saved)}.tmp
    else
        echo absent >${raw(saved)}.tmp
    fi
    mv -f ${raw(saved)}.tmp ${raw(saved)}
fi
mw_tmp=$(mktemp ${`${file}.mw-XXXXXX`})
cat >"$mw_tmp" && ${raw(mode)} && ${raw(owner)} && mv -f -- "$mw_tmp" ${file} || {
    rm -f -- "$mw_tmp"
    ${raw(fail(`could not write ${file}`))}
}
${raw(note(`wrote ${file}`))}
`;
    const inverse = sh`if [ -e ${raw(saved)} ]; then
    case "$(cat ${raw(saved)})" in
        present)
            [ -f ${raw(original)} ] || ${raw(fail(`saved original of ${file} is missing`))}
            # Unchanged (a forward that failed before writing): nothing to copy, which also
            # works on a full disk.
            if [ -f ${file} ] && cmp -s ${raw(original)} ${file} &&
                [ "$(stat -c %a:%u:%g ${raw(original)})" = "$(stat -c %a:%u:%g ${file})" ]; then
                ${raw(note(`${file} is as it was`))}
            else
            mw_tmp=$(mktemp ${`${file}.mw-XXXXXX`})
            cp -p -- ${raw(original)} "$mw_tmp" && mv -f -- "$mw_tmp" ${file} || {
                rm -f -- "$mw_tmp"
                ${raw(fail(`could not restore ${file}`))}
            }
            ${raw(note(`restored the original ${file}`))}
            fi
            ;;
        absent)
            rm -f -- ${file}
            ${raw(note(`removed ${file}, which did not exist before`))}
            ;;
        *) ${raw(fail(`saved state of ${file} is corrupt`))} ;;
    esac
    rm -f ${raw(saved)}
    rm -f ${raw(original)}
else
    ${raw(note(`nothing saved for ${file}; nothing to restore`))}
fi
`;
    return { forward, inverse };
}
