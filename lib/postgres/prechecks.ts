/**
 * Read-only pre-checks of the PostgreSQL pair (PROCEDURES.md 2, the runbook's "check master"
 * before a standby is set up): each lists every problem it finds and changes nothing, so
 * `npm run precheck` can run them against the live hosts before a window. They hold on the pair
 * before it is built and once it is: a standby this library built (its build step's marker) is
 * expected where an empty data directory would be.
 *
 * They read no secret (the steps' stdin is left unread) and write no file: they run on
 * `postgresShell`, not on the steps' preamble, which writes the replication passfile.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { precheckFraming } from "../core/actions/precheck";
import { raw, sh } from "../core/shell";
import type { ResolvedPostgresHa } from "./args";
import { postgresShell } from "./pg-sh";

/** The tools the host needs; `upgrading`: it also runs on the upgrade's binaries. */
function toolsCheck(r: ResolvedPostgresHa, upgrading: boolean): string {
    return sh`if ! id "$mw_os" >/dev/null 2>&1; then
    mw_problem "no account $mw_os on this host"
fi
for t in postgres pg_ctl; do [ -x "$mw_bin/$t" ] || mw_problem "no $t in $mw_bin"; done
for t in psql pg_basebackup pg_controldata; do [ -x "$mw_cbin/$t" ] || mw_problem "no $t in $mw_cbin"; done
if [ -x "$mw_bin/postgres" ]; then
    mw_major=$("$mw_bin/postgres" --version | sed -n 's/^postgres (PostgreSQL) \\([0-9]*\\).*/\\1/p')
    [ "$mw_major" = ${r.version} ] || mw_problem "the binaries in "${r.binDir}" are PostgreSQL $mw_major, not "${r.version}
fi
${raw(r.upgrade && upgrading ? sh`[ -x ${`${r.upgrade.binDir}/postgres`} ] || mw_problem ${`no postgres in ${r.upgrade.binDir} (upgrade.binDir)`}` : "")}
`;
}

/**
 * On the master: PostgreSQL runs in the data directory, of the configured major version (or the
 * upgrade's, once upgraded); as the primary it is fit for a standby (`wal_level`,
 * `max_wal_senders`, `max_replication_slots`, a readable `pg_hba.conf`).
 */
export function masterPrecheck(r: ResolvedPostgresHa): Reversible {
    const majors = [r.version, ...(r.upgrade && r.upgrade.version !== r.version ? [r.upgrade.version] : [])];
    const checks = sh`${raw(toolsCheck(r, true))}
if [ -n "$mw_problems" ]; then
    :
elif ! mw_running; then
    mw_problem "PostgreSQL is not running in $mw_data on this host: the master must serve when the standby is built"
else
    mw_major=$(mw_psql -c 'SHOW server_version_num' | cut -c1-2)
    case " ${raw(majors.join(" "))} " in *" $mw_major "*) ;; *) mw_problem "the master runs PostgreSQL major version $mw_major, not "${majors.join(" or ")} ;; esac
    if [ "$(mw_psql -c 'SELECT pg_is_in_recovery()')" = f ]; then
        [ "$(mw_psql -c "SELECT setting IN ('replica', 'logical') FROM pg_settings WHERE name = 'wal_level'")" = t ] || mw_problem 'wal_level must be replica or logical'
        [ "$(mw_psql -c "SELECT setting::int >= 2 FROM pg_settings WHERE name = 'max_wal_senders'")" = t ] || mw_problem 'max_wal_senders must be at least 2'
        [ "$(mw_psql -c "SELECT setting::int >= 2 FROM pg_settings WHERE name = 'max_replication_slots'")" = t ] || mw_problem 'max_replication_slots must be at least 2'
        mw_hba=$(mw_psql -c 'SHOW hba_file')
        [ -f "$mw_hba" ] || mw_problem "pg_hba.conf ($mw_hba) is not a file"
    fi
fi
`;
    return { forward: sh`${raw(postgresShell(r))}${raw(precheckFraming(checks, "master"))}`, inverse: "" };
}

/**
 * On the standby (or the spare): the tools, a data directory that is empty (or the standby that
 * step `buildStep` built there: its marker), and the master's port reachable from this host.
 */
export function standbyPrecheck(r: ResolvedPostgresHa, role: "standby" | "spare", buildStep: string): Reversible {
    // The standby runs on the upgrade's binaries in a minor roll, and when a spare keeps the old version.
    const upgrading = role === "standby" && r.upgrade !== undefined && (r.upgrade.version === r.version || r.spare !== undefined);
    const marker = raw(`"$MW_STATE_DIR/steps/$MW_COMPONENT/${buildStep}/made"`);
    const checks = sh`${raw(toolsCheck(r, upgrading))}
if [ -e ${marker} ]; then
    echo "middleware: the ${raw(role)} this library built is here"
elif [ -n "$mw_problems" ]; then
    :
elif mw_running; then
    mw_problem "a cluster runs in $mw_data on this host that this library did not build: the ${raw(role)} is built only into an empty data directory"
elif [ -d "$mw_data" ] && [ -n "$(ls -A "$mw_data")" ]; then
    mw_problem "$mw_data is not empty on this host: the ${raw(role)} is built only into an empty data directory"
fi
if [ -x "$mw_cbin/pg_isready" ]; then
    "$mw_cbin/pg_isready" -q -h ${r.master.address} -p "$mw_port" -t 5 ||
        mw_problem ${`the master's PostgreSQL at ${r.master.address}:${r.port} does not accept connections from this host`}
fi
`;
    return { forward: sh`${raw(postgresShell(r))}${raw(precheckFraming(checks, role))}`, inverse: "" };
}
