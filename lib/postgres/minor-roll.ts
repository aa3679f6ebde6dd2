/**
 * The minor roll: the pair moves to another build of the same major version (its data
 * directory is the same format), standby first, then a switchover whose old primary rejoins on
 * the new build, then the switch back whose old primary (the standby) rejoins on the new build
 * too. No acknowledged commit is lost: each switch promotes only a standby that replayed the
 * old primary's shutdown checkpoint (see switchover.ts). Going back is the same roll with the
 * old build, the steps' inverses in reverse order.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedPostgresHa } from "./args";
import { postgresPreamble } from "./pg-sh";
import { switchScript } from "./switchover";

/** The pair as it runs on `binDir` (the client tools of that build too, unless it has none). */
export function onBuild(r: ResolvedPostgresHa, binDir: string, clientBinDir: string): ResolvedPostgresHa {
    return { ...r, binDir, clientBinDir };
}

/**
 * This host's standby restarted on `r.binDir` (unless it runs from there already), streaming
 * from the primary at `primary` and caught up. Where this host is the primary: fails when
 * `primaryIsFine` is false, else leaves it (it changes build when it rejoins as a standby).
 */
export function restartStandby(r: ResolvedPostgresHa, primary: string, primaryIsFine: boolean): string {
    return sh`${raw(postgresPreamble(r))}
mw_running_binary() { readlink -f "/proc/$(head -n 1 "$mw_data/postmaster.pid" 2>/dev/null)/exe" 2>/dev/null || echo none; }
mw_want=$(readlink -f "$mw_bin/postgres")
mw_major=$("$mw_bin/postgres" --version | sed -n 's/^postgres (PostgreSQL) \\([0-9]*\\).*/\\1/p')
[ "$mw_major" = ${r.version} ] || mw_die "the binaries in "${r.binDir}" are PostgreSQL $mw_major, not "${r.version}": a minor roll stays within one major version"
if mw_running && [ "$(mw_recovery)" = f ]; then
    ${raw(primaryIsFine ? sh`mw_mark 'this host is the primary: it changes build when it rejoins as a standby'
    exit 0` : sh`mw_die 'this host runs the primary, not a standby'`)}
fi
if mw_running && [ "$(mw_running_binary)" != "$mw_want" ]; then
    mw_mark "restarting the standby (running $(mw_running_binary)) on $mw_bin"
    mw_stop
fi
mw_running || mw_start
[ "$(mw_running_binary)" = "$mw_want" ] || mw_die "the standby runs $(mw_running_binary), not $mw_want"
mw_await_streaming 60 ${`the standby to stream from ${primary}`} ${primary}
mw_caught_up ${primary} ${r.catchUpSeconds}
mw_mark "the standby runs PostgreSQL $(mw_psql -c 'SHOW server_version') from $mw_bin, streams and has caught up"
`;
}

/**
 * The three steps of a roll from `from` to `to` (each the pair on one build): on the standby,
 * its restart (undo: the switch back rejoining on `from`); on the master, the switchover whose
 * rejoin is on `to` (undo: the switchover rejoining on `from`); on the standby, the switch back
 * rejoining on `to` (undo: the standby's restart on `from`).
 */
export function minorRoll(from: ResolvedPostgresHa, to: ResolvedPostgresHa, switchSeconds: number): { standby: Reversible; master: Reversible; switchBack: Reversible } {
    const M = from.master;
    const S = from.standby;
    return {
        standby: { forward: restartStandby(to, M.address, false), inverse: switchScript(from, S, M, switchSeconds) },
        master: { forward: switchScript(to, M, S, switchSeconds), inverse: switchScript(from, M, S, switchSeconds) },
        switchBack: { forward: switchScript(to, S, M, switchSeconds), inverse: restartStandby(from, M.address, true) },
    };
}
