/**
 * Moving a storage's stored files between the legacy and the managed store path, in either
 * direction, so that a crash at any point leaves a state the next run recognises and finishes.
 *
 * On one file system the move is one rename. Across file systems it is a copy, in an order
 * where every state on disk tells what to do next:
 * 1. `FROM` copied to `TO.mw` (a crash leaves a partial `TO.mw` beside the whole `FROM`: copied anew);
 * 2. `FROM` renamed to `FROM.gone` (whole, since the copy is);
 * 3. `TO.mw` renamed to `TO`;
 * 4. `FROM.gone` removed (a crash leaves part of it beside the whole `TO`: removed).
 *
 * @module
 */
import { crashPoint } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";

/**
 * Fragment: finishes or rolls back a move from `from` to `to` that a crash interrupted: a
 * copied `from.gone` with `to.mw` beside it completes (step 3), a `from.gone` beside `to` goes
 * (step 4), a partial `to.mw` beside `from` goes (step 1). Creates nothing.
 */
export function settleMove(from: string, to: string): string {
    return sh`if [ -d ${`${from}.gone`} ]; then
    if ! mw_exists ${to}; then
        [ -d ${`${to}.mw`} ] || mw_die ${`${from}.gone exists without ${to} or ${to}.mw: an interrupted move left an unknown state (resolve by hand)`}
        mv ${`${to}.mw`} ${to}
    fi
    rm -rf ${`${from}.gone`}
    mw_mark ${`an interrupted move of the stored files to ${to} finished`}
fi
if [ -d ${from} ] && mw_exists ${`${to}.mw`}; then
    rm -rf ${`${to}.mw`}
    mw_mark ${`a partial copy ${to}.mw of an interrupted move removed`}
fi
`;
}

/**
 * Fragment: the stored files from `from` to `to` (see the module), when `from` is there; refuses
 * when both are. `to`'s parent must exist. Crash points `<label> copied` and `<label> source
 * removed` (between the rename to `.gone` and its removal) on the copy path.
 */
export function moveFiles(from: string, to: string, label: string): string {
    return sh`${raw(settleMove(from, to))}if [ -d ${from} ]; then
    mw_exists ${to} && mw_die ${`both ${from} and ${to} exist: refusing to choose (resolve by hand)`}
    if [ "$(stat -c %d ${from})" = "$(stat -c %d "$(dirname ${to})")" ]; then
        mv ${from} ${to}
        mw_mark ${`the stored files moved (renamed, not copied) from ${from} to ${to}`}
    else
        cp -a ${from} ${`${to}.mw`}
${raw(crashPoint(`${label} copied`))}        mv ${from} ${`${from}.gone`}
        mv ${`${to}.mw`} ${to}
${raw(crashPoint(`${label} source removed`))}        rm -rf ${`${from}.gone`}
        mw_mark ${`the stored files copied from ${from} to ${to} (another file system), the source removed`}
    fi
fi
`;
}

/**
 * Fragment: fails unless the file system of `to` has room for `from` (plus `headroomKb`), when
 * the move is a copy; run before anything stops, so that a full disk leaves the storage serving.
 * `to` need not exist yet: its nearest existing ancestor is measured.
 */
export function roomForMove(from: string, to: string, headroomKb: number): string {
    return sh`if [ -d ${from} ] && ! mw_exists ${to}; then
    mw_to=${to}
    while [ ! -d "$mw_to" ]; do mw_to=$(dirname "$mw_to"); done
    if [ "$(stat -c %d ${from})" != "$(stat -c %d "$mw_to")" ]; then
        mw_need_kb=$(( $(du -sk ${from} | cut -f1) + ${raw(String(headroomKb))} ))
        mw_free_kb=$(df -Pk "$mw_to" | awk 'NR == 2 { print $4 }')
        [ "$mw_free_kb" -ge "$mw_need_kb" ] || mw_die "no room for the stored files on the file system of $mw_to: $mw_need_kb KiB needed (${raw(from)} and headroom), $mw_free_kb KiB free"
    fi
fi
`;
}
