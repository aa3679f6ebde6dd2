/**
 * Whether one Redis binary can read what another writes. Redis reads RDB files up to the
 * format version it writes itself, so the formats of the two binaries decide it exactly, in
 * O(1), whatever the age of the RDB on disk (a replica that resynced partially after an
 * upgrade still holds a file in the old format).
 *
 * @module
 */
import { RawShell, sh } from "../core/shell";

/** Fragment: exits 1 with `refusal` and both formats unless `reader` reads what `writer` writes. */
export function refuseUnlessReads(reader: string, writer: string | RawShell, refusal: string): string {
    return sh`mw_reads=$(mw_rdb_version ${reader})
mw_writes=$(mw_rdb_version ${writer})
if [ "$mw_reads" -lt "$mw_writes" ]; then
    printf 'middleware: %s (it reads RDB format %s at most; %s writes format %s)\\n' ${refusal} "$mw_reads" ${writer} "$mw_writes" >&2
    exit 1
fi`;
}
