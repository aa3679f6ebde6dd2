/**
 * Put a symbolic link where a file was moved away (an init script, a config path), and take it
 * away again on rollback, touching nothing that is not that link.
 *
 * @module
 */
import { raw, sh } from "../shell";
import { checkAbsolutePath, Problems } from "../validate";
import { crashPoint, exists, fail, note, Reversible } from "./reversible";

/** Arguments of {@link linkPath}. */
export interface LinkPathArgs {
    /** Where the link goes, e.g. `/etc/init.d/redis`. */
    readonly path: string;
    /** What it points to, e.g. `/app/middleware/redis/init.d/redis`. */
    readonly target: string;
}

/**
 * Forward: creates `path` -> `target`; no-op when that link is there; fails when anything else
 * is at `path`. Inverse: removes the link when it points to `target`; no-op when `path` is
 * absent; fails when something else is there.
 *
 * @throws ConfigError when a path is invalid
 */
export function linkPath(args: LinkPathArgs): Reversible {
    new Problems()
        .check("linkPath.path", args.path, checkAbsolutePath)
        .check("linkPath.target", args.target, checkAbsolutePath)
        .throwIfAny("linkPath");
    const { path, target } = args;
    const isOurLink = sh`{ [ -L ${path} ] && [ "$(readlink ${path})" = ${target} ]; }`;
    const forward = sh`${raw(crashPoint(`link ${path}`))}if ${raw(isOurLink)}; then
    ${raw(note(`${path} already links to ${target}`))}
elif ${raw(exists(path))}; then
    ${raw(fail(`cannot link ${path}: something else is there`))}
else
    ln -s ${target} ${path}
fi
`;
    const inverse = sh`${raw(crashPoint(`unlink ${path}`))}if ${raw(isOurLink)}; then
    rm -f ${path}
elif ${raw(exists(path))}; then
    ${raw(fail(`will not remove ${path}: it is not the link to ${target}`))}
fi
`;
    return { forward, inverse };
}
