/**
 * Shell functions every PostgreSQL step shares: the cluster as its own account, the replication
 * account's passfile, SQL on the local cluster (peer) and on the other host (the replication
 * account), LSN comparisons, standby settings and the VIP.
 *
 * The replication password is read once from stdin into `$MW_PASSWORD`, written only into a
 * passfile (mode 0600, owned by the cluster's account) and into SQL piped to psql with the
 * `printf` builtin: never argv, never the environment.
 *
 * @module
 */
import { readSecretFromStdin } from "../core/script";
import { raw, sh } from "../core/shell";
import { waitFunction } from "../core/shell-wait";
import type { ResolvedPostgresHa } from "./args";

/** Replication slot of `host` on whichever host is the primary: `mw_<host>` in SQL's alphabet. */
export function slotName(host: string): string {
    return `mw_${host.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

/** Marks the block of standby settings the library writes into postgresql.auto.conf. */
export const STANDBY_BLOCK_BEGIN = "# BEGIN pulumi-middleware standby settings";
const STANDBY_BLOCK_END = "# END pulumi-middleware standby settings";

/**
 * The part of {@link postgresPreamble} that reads no secret and writes nothing: the pair's paths,
 * port and accounts as shell variables, and `mw_as CMD...` (as the cluster's account),
 * `mw_psql ARGS` (local, peer), `mw_ctl`, `mw_running`. The pre-checks run on it alone.
 */
export function postgresShell(r: ResolvedPostgresHa): string {
    return sh`mw_bin=${r.binDir}
mw_cbin=${r.clientBinDir}
mw_data=${r.dataDir}
mw_sock=${r.socketDir}
mw_log=${r.logFile}
mw_os=${r.osUser}
mw_port=${r.port}
mw_user=${r.replicationUser}
mw_iface=${r.vip.interface}
mw_vip=${r.vip.address}
LC_ALL=C
export LC_ALL
cd /
mw_as() { runuser -u "$mw_os" -- "$@"; }
mw_psql() { mw_as "$mw_cbin/psql" -h "$mw_sock" -p "$mw_port" -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }
mw_ctl() { mw_as "$mw_bin/pg_ctl" -D "$mw_data" "$@"; }
mw_running() { mw_ctl status >/dev/null 2>&1; }
`;
}

/**
 * Preamble of every PostgreSQL step. Defines `mw_mark`, `mw_die`, `mw_as CMD...` (as the
 * cluster's account), `mw_psql ARGS` (local, peer), `mw_rpsql ADDR ARGS` (remote, replication
 * account), `mw_ctl`, `mw_running`, `mw_start`, `mw_stop`, `mw_recovery` (t/f),
 * `mw_control FIELD` (pg_controldata), `mw_lsn_ok LSN`, `mw_wait SECONDS WHAT CMD...`,
 * `mw_streaming_from ADDR`, `mw_await_streaming SECONDS WHAT ADDR`, `mw_caught_up ADDR SECONDS`,
 * `mw_standby_settings ADDR SLOT`, `mw_clear_standby_settings`, `mw_has_vip`; writes the
 * passfile `$mw_passfile`.
 */
export function postgresPreamble(r: ResolvedPostgresHa): string {
    return sh`${raw(readSecretFromStdin("MW_PASSWORD"))}
case $MW_PASSWORD in *"'"*|*'\\'*|*:*) echo 'middleware: the replication password must not contain quotes, backslashes or colons' >&2; exit 2;; esac
${raw(postgresShell(r))}mw_pgdir="$MW_STATE_DIR/postgres/$MW_COMPONENT"
mw_passfile="$mw_pgdir/pgpass"
mw_t0=$(date +%s%N)
mw_mark() { echo "middleware: $(( ($(date +%s%N) - mw_t0) / 1000000 )) ms: $*"; }
mw_die() { printf 'middleware: %s\\n' "$*" >&2; exit 1; }
id "$mw_os" >/dev/null 2>&1 || mw_die "no account $mw_os on this host"
[ -x "$mw_bin/postgres" ] || mw_die "no PostgreSQL binaries in $mw_bin"
[ -x "$mw_cbin/psql" ] || mw_die "no psql in $mw_cbin"
mkdir -p "$mw_pgdir"
chmod 0755 "$MW_STATE_DIR" "$MW_STATE_DIR/postgres" "$mw_pgdir"
( umask 077 && printf '*:%s:*:%s:%s\\n' "$mw_port" "$mw_user" "$MW_PASSWORD" >"$mw_passfile.new" )
chown "$mw_os" "$mw_passfile.new"
mv -f "$mw_passfile.new" "$mw_passfile"
mw_rpsql() {
    mw_at=$1; shift
    PGPASSFILE="$mw_passfile" PGCONNECT_TIMEOUT=3 "$mw_cbin/psql" -h "$mw_at" -p "$mw_port" -U "$mw_user" -d postgres -w -X -q -At -v ON_ERROR_STOP=1 "$@"
}
mw_start() {
    [ -d "$mw_sock" ] || { mkdir -p "$mw_sock" && chown "$mw_os" "$mw_sock"; }
    [ -e "$mw_log" ] || { mkdir -p "$(dirname "$mw_log")" && touch "$mw_log" && chown "$mw_os" "$mw_log"; }
    mw_ctl -l "$mw_log" -w -t 300 start >/dev/null || mw_die "PostgreSQL did not start; see $mw_log"
}
mw_stop() { ! mw_running || mw_ctl -m fast -w -t 300 stop >/dev/null || mw_die "PostgreSQL did not stop; see $mw_log"; }
mw_recovery() { mw_psql -c 'SELECT pg_is_in_recovery()'; }
mw_control() { "$mw_cbin/pg_controldata" "$mw_data" | sed -n "s/^$1: *//p"; }
mw_lsn_ok() { printf '%s' "$1" | grep -Eq '^[0-9A-F]{1,8}/[0-9A-F]{1,8}$'; }
${raw(waitFunction(0.05))}mw_replayed_past() { [ "$(mw_psql -c "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$1') > 0" 2>/dev/null)" = t ]; }
mw_replayed_to() { [ "$(mw_psql -c "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$1') >= 0" 2>/dev/null)" = t ]; }
# This host's standby streams from the primary at ADDR.
mw_streaming_from() {
    [ "$(mw_psql -c "SELECT status = 'streaming' AND sender_host = '$1' FROM pg_stat_wal_receiver" 2>/dev/null)" = t ]
}
# Waits SECONDS for this host's standby to stream from ADDR; if it does not, says so (WHAT) with
# the end of the server's log (any line holding the password left out).
mw_await_streaming() {
    mw_wait "$1" "$2" mw_streaming_from "$3" && return 0
    printf 'middleware: the end of %s:\\n' "$mw_log" >&2
    tail -n 8 "$mw_log" 2>/dev/null | grep -v -F -e "$MW_PASSWORD" | sed 's/^/middleware:   /' >&2 || :
    return 1
}
# Waits until this host's standby has replayed everything the primary at ADDR had written when asked.
mw_caught_up() {
    mw_target=$(mw_rpsql "$1" -c 'SELECT pg_current_wal_lsn()') || mw_die "cannot ask the primary at $1 for its WAL position"
    mw_lsn_ok "$mw_target" || mw_die "unexpected WAL position from $1: $mw_target"
    mw_wait "$2" "the standby to replay up to $mw_target of the primary at $1" mw_replayed_to "$mw_target" || return 1
    mw_mark "replay caught up with the primary at $1 (at $mw_target; replayed $(mw_psql -c 'SELECT pg_last_wal_replay_lsn()'))"
}
mw_clear_standby_settings() {
    mw_auto="$mw_data/postgresql.auto.conf"
    if [ -e "$mw_auto" ] && grep -q -F ${STANDBY_BLOCK_BEGIN} "$mw_auto"; then
        sed ${`/^${STANDBY_BLOCK_BEGIN}/,/^${STANDBY_BLOCK_END}/d`} "$mw_auto" >"$mw_auto.mw"
        chown "$mw_os" "$mw_auto.mw"; chmod 0600 "$mw_auto.mw"; mv -f "$mw_auto.mw" "$mw_auto"
    fi
    rm -f "$mw_data/standby.signal"
}
# Makes this host's cluster a standby of the primary at ADDR, through slot SLOT (takes effect at start).
mw_standby_settings() {
    mw_clear_standby_settings
    mw_auto="$mw_data/postgresql.auto.conf"
    { [ ! -e "$mw_auto" ] || cat "$mw_auto"
      printf '%s\\n' ${STANDBY_BLOCK_BEGIN} \\
        "primary_conninfo = 'host=$1 port=$mw_port user=$mw_user passfile=$mw_passfile application_name=$(hostname)'" \\
        "primary_slot_name = '$2'" "recovery_target_timeline = 'latest'" ${STANDBY_BLOCK_END}
    } >"$mw_auto.mw"
    chown "$mw_os" "$mw_auto.mw"; chmod 0600 "$mw_auto.mw"; mv -f "$mw_auto.mw" "$mw_auto"
    mw_as touch "$mw_data/standby.signal"
}
mw_has_vip() { ip -4 -o addr show dev "$mw_iface" 2>/dev/null | grep -q -F " $mw_vip/"; }
mw_lacks_vip() { ! mw_has_vip; }
`;
}
