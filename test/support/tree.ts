/**
 * A tree hash of paths on a sandbox host: every entry under each path with its name, type,
 * mode, owner, content digest and symlink target. Two snapshots are equal exactly when the
 * trees are byte-identical in those respects; times and inode numbers are left out on purpose
 * (a rename changes its directory's mtime, and that is not a change of the tree).
 */
import { createHash } from "crypto";
import { exec } from "../../sandbox";
import { sh } from "../../lib/core/shell";

/** One snapshot: entry path → `type mode uid:gid [sha256 | -> target]`, and a digest of it all. */
export interface TreeSnapshot {
    /** Every entry by its full path on the host; a path that does not exist maps to `absent`. */
    readonly entries: Readonly<Record<string, string>>;
    /** sha256 over the sorted entries. */
    readonly digest: string;
}

const HASHES = "--hashes--";

/**
 * The script that lists one root: NUL-separated `type, mode, uid:gid, path, link target` per
 * entry (GNU find), then the marker, then `sha256sum -z` of every regular file.
 */
function listing(root: string): string {
    return sh`if [ ! -e ${root} ] && [ ! -L ${root} ]; then printf 'absent\\0'; exit 0; fi
find ${root} -printf '%y\\0%#m\\0%U:%G\\0%p\\0%l\\0'
printf '%s\\0' ${HASHES}
find ${root} -type f -exec sha256sum -z -- {} +
`;
}

function parse(root: string, out: string): Record<string, string> {
    const fields = out.split("\0");
    if (fields[0] === "absent") return { [root]: "absent" };
    const entries: Record<string, string> = {};
    let i = 0;
    for (; i < fields.length && fields[i] !== HASHES; i += 5) {
        const [type, mode, owner, path, target] = fields.slice(i, i + 5);
        if (path === undefined) throw new Error(`tree listing of ${root} is truncated`);
        entries[path] = type === "l" ? `l ${mode} ${owner} -> ${target}` : `${type} ${mode} ${owner}`;
    }
    for (const record of fields.slice(i + 1)) {
        if (record === "") continue;
        const m = /^([0-9a-f]{64}) [ *](.*)$/s.exec(record);
        if (!m || !(m[2] in entries)) throw new Error(`unexpected sha256sum record ${JSON.stringify(record)}`);
        entries[m[2]] += ` ${m[1]}`;
    }
    return entries;
}

/** Runs a command on a host: the sandbox's `exec` by default, or SSH to another site's host. */
export type HostRunner = (host: string, cmd: string) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Snapshots `roots` (absolute paths) on a sandbox host. */
export async function treeSnapshot(host: string, roots: readonly string[], run: HostRunner = exec): Promise<TreeSnapshot> {
    const entries: Record<string, string> = {};
    for (const root of roots) {
        const r = await run(host, listing(root));
        if (r.code !== 0) throw new Error(`tree of ${root} on ${host}: exit ${r.code}: ${r.stderr}`);
        Object.assign(entries, parse(root, r.stdout));
    }
    const sorted = Object.keys(entries).sort();
    const digest = createHash("sha256");
    for (const k of sorted) digest.update(`${k}\0${entries[k]}\0`);
    return { entries: Object.fromEntries(sorted.map((k) => [k, entries[k]])), digest: digest.digest("hex") };
}

/** The entries of `after` that differ from `before`, for messages: path → [before, after]. */
export function treeDiff(before: TreeSnapshot, after: TreeSnapshot): Record<string, [string | undefined, string | undefined]> {
    const out: Record<string, [string | undefined, string | undefined]> = {};
    for (const k of new Set([...Object.keys(before.entries), ...Object.keys(after.entries)])) {
        if (before.entries[k] !== after.entries[k]) out[k] = [before.entries[k], after.entries[k]];
    }
    return out;
}
