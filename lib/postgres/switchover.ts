/**
 * Switchover as Patroni and CloudNativePG do it, run on the old primary: checkpoint, clean stop,
 * wait until the standby has replayed the shutdown checkpoint (so it holds every commit the old
 * primary acknowledged), promote it over SQL, and rejoin as its standby (pg_rewind where the
 * histories diverged, a base backup where pg_rewind cannot run). keepalived moves the VIP: its
 * check passes only on a primary. Once the promotion is confirmed, this host's keepalived is
 * stopped, so its priority-0 advert hands the VIP over after the new primary's skew time (about
 * 0.1 s) instead of after the new primary's next check (up to 1 s) and three missed adverts;
 * it starts again, as a backup, once this host has rejoined.
 *
 * Until the promotion the old primary can come back as it was, so a standby that does not replay
 * the shutdown checkpoint in time, or a promotion that fails, leaves the old primary serving
 * again and fails the step. Every phase can be resumed: the script finds where the pair is. Run
 * where this host already follows the new primary, it only checks that (and the VIP): that is
 * also what makes it a no-op as the undo of a switch that never happened.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import { crashPoint, Reversible } from "../core/actions/reversible";
import type { HostArgs } from "../core/host";
import type { ResolvedPostgresHa } from "./args";
import { serviceCommands } from "../core/actions/service-state";
import { VIP_TIMEOUT_SECONDS } from "./keepalived";
import { postgresPreamble, slotName } from "./pg-sh";

/** Largest replay lag (bytes) at which a switch begins; more waits, up to `switchoverSeconds`. */
export const SWITCH_MAX_LAG_BYTES = 16 * 1024 * 1024;

/** The config files a rejoin keeps as they are on its own host (pg_rewind would copy the new primary's). */
const OWN_FILES = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"];

function createSlot(slot: string): string {
    return `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '${slot}')`;
}

/** The switch from the primary on host `from` (where it runs) to the standby on `to`. */
export function switchScript(r: ResolvedPostgresHa, from: HostArgs, to: HostArgs, switchSeconds: number): string {
    const N = to.address;
    const mySlot = slotName(from.name);
    const theirSlot = slotName(to.name);
    const conf = raw('"$MW_STEP_DIR/conf"');
    const ka = serviceCommands(r.keepalived.service, r.keepalived.serviceManager);
    return sh`${raw(postgresPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
rm -f "$MW_STEP_DIR/shutdown-checkpoint"
mw_new=${N}
mw_remote_recovery() { mw_rpsql "$mw_new" -c 'SELECT pg_is_in_recovery()' 2>/dev/null || echo down; }
mw_remote_replayed_past() { [ "$(mw_rpsql "$mw_new" -c "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$1') > 0" 2>/dev/null)" = t ]; }
mw_lag_small() {
    mw_lag=$(mw_psql -c ${`SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)), -1) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '${theirSlot}'`})
    [ "$mw_lag" -ge 0 ] && [ "$mw_lag" -le ${SWITCH_MAX_LAG_BYTES} ]
}
# The switch gave up before any promotion: the primary here serves again, and the standby is
# given the time to reconnect (its walreceiver retries every 5 s) so the pair is as it was.
mw_serve_again() {
    mw_undemote
    rm -rf ${conf}
    mw_rpsql "$mw_new" -c ${`SELECT pg_drop_replication_slot('${mySlot}') FROM pg_replication_slots WHERE slot_name = '${mySlot}' AND NOT active`} >/dev/null 2>&1 || :
    mw_start
    mw_wait 20 ${`the standby to stream through slot ${theirSlot} again`} mw_slot_active || :
    mw_die "$@"
}
# This host's own config files, kept aside for its rejoin (pg_rewind copies the new primary's).
mw_save_own_files() {
    if [ ! -d ${conf} ]; then
        rm -rf ${conf}.new && mkdir -p ${conf}.new
        for f in ${OWN_FILES}; do [ ! -e "$mw_data/$f" ] || cp -p "$mw_data/$f" ${conf}.new/; done
        mv ${conf}.new ${conf}
    fi
    [ -e "$mw_pgdir/postgresql.auto.conf.orig" ] || [ ! -e ${conf}/postgresql.auto.conf ] || cp -p ${conf}/postgresql.auto.conf "$mw_pgdir/postgresql.auto.conf.orig"
}
# Takes back the standby settings put here before a promotion that did not happen.
mw_undemote() {
    [ -e "$MW_STEP_DIR/demoted" ] || return 0
    if [ -e ${conf}/postgresql.auto.conf ]; then cp -p ${conf}/postgresql.auto.conf "$mw_data/postgresql.auto.conf"; else mw_clear_standby_settings; fi
    rm -f "$mw_data/standby.signal" "$MW_STEP_DIR/demoted"
}
mw_slot_active() { [ "$(mw_psql -c ${`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${theirSlot}' AND active`})" = 1 ]; }
mw_phase=switch
if mw_running; then
    if [ "$(mw_recovery)" = t ] && [ -e "$MW_STEP_DIR/demoted" ] && [ "$(mw_remote_recovery)" = t ]; then
        # Booted after a crash between its standby settings and the promotion: nothing was promoted.
        mw_mark 'resuming: this host was made a standby and nothing was promoted: it serves again'
        mw_stop
        mw_undemote
        mw_start
    fi
    if [ "$(mw_recovery)" = t ]; then
        mw_await_streaming 30 "this host's standby to stream from $mw_new" "$mw_new" || mw_die "this host runs a standby that does not stream from $mw_new"
        mw_phase=verify
        mw_mark "resuming: this host already follows $mw_new"
        # A roll undone before its switch left this standby on the other build: restarted on this one.
        mw_have=$(readlink -f "/proc/$(head -n 1 "$mw_data/postmaster.pid" 2>/dev/null)/exe" 2>/dev/null || echo none)
        if [ "$mw_have" != "$(readlink -f "$mw_bin/postgres")" ]; then
            mw_mark "restarting this host's standby (running $mw_have) on $mw_bin"
            mw_stop
            mw_start
            mw_await_streaming 60 "this host's standby to stream from $mw_new" "$mw_new" || mw_die "this host's standby does not stream from $mw_new after its restart on $mw_bin"
        fi
    fi
else
    case $(mw_remote_recovery) in
        f) mw_phase=rejoin; mw_mark "resuming: $mw_new is the primary; this host rejoins" ;;
        t) mw_undemote
           [ ! -e "$mw_data/standby.signal" ] || mw_die "this host's cluster is stopped and set up as a standby while $mw_new is a standby too"
           mw_mark 'resuming: the primary here was stopped and nothing was promoted: starting it again'
           mw_start ;;
        *) mw_die "this host's cluster is stopped and $mw_new does not answer: start one of them by hand" ;;
    esac
fi
if [ "$mw_phase" = switch ]; then
    [ "$(mw_remote_recovery)" = t ] || mw_die "$mw_new is not a standby: nothing to switch to"
    mw_wait ${switchSeconds} ${`the standby at ${N} to stream through slot ${theirSlot} within ${SWITCH_MAX_LAG_BYTES} bytes`} mw_lag_small ||
        mw_die "$mw_new is not close enough to switch to (replay lag $mw_lag bytes): nothing was changed"
    # Before the stop, so that the write gap does not include them: this host's own config files
    # aside, and its slot on $mw_new for the standby settings it gets before the promotion.
    mw_save_own_files
    mw_rpsql "$mw_new" -c ${createSlot(mySlot)} >/dev/null || mw_die "cannot create slot ${mySlot} on $mw_new: nothing was changed"
    mw_psql -c CHECKPOINT >/dev/null
    mw_mark "checkpoint done (standby lag $mw_lag bytes); stopping the primary"
    mw_stop
    [ "$(mw_control 'Database cluster state')" = 'shut down' ] || mw_serve_again 'the primary did not shut down cleanly; it serves again'

    mw_ckpt=$(mw_control 'Latest checkpoint location')
    mw_lsn_ok "$mw_ckpt" || mw_serve_again "unexpected shutdown checkpoint location $mw_ckpt; the primary serves again"
    mw_mark "stopped cleanly at shutdown checkpoint $mw_ckpt"
    if ! mw_wait ${switchSeconds} "$mw_new to replay the shutdown checkpoint $mw_ckpt" mw_remote_replayed_past "$mw_ckpt"; then
        mw_replayed=$(mw_rpsql "$mw_new" -c 'SELECT pg_last_wal_replay_lsn()' 2>/dev/null || echo unknown)
        mw_serve_again "$mw_new did not replay the shutdown checkpoint $mw_ckpt (replayed $mw_replayed): nothing was promoted, this host serves as the primary again"
    fi
    mw_mark "$mw_new replayed the shutdown checkpoint: it holds every acknowledged commit"
    ${raw(crashPoint("stopped"))}
    # Made a standby of $mw_new before the promotion: a crash from here on and a boot (the
    # site's init script) start this host as a standby, never as a second primary.
    : >"$MW_STEP_DIR/demoted"
    mw_standby_settings "$mw_new" ${mySlot}
    if ! mw_promoted=$(mw_rpsql "$mw_new" -c 'SELECT pg_promote(true, 60)' 2>&1) || [ "$mw_promoted" != t ]; then
        if [ "$(mw_remote_recovery)" != f ]; then
            mw_serve_again "promoting $mw_new failed ($mw_promoted): it is still a standby, this host serves as the primary again"
        fi
    fi
    mw_mark "$mw_new promoted"
    ( ${raw(ka.stop)} ) >"$MW_STEP_DIR/keepalived-stop.log" 2>&1 &
    mw_ka_stopping=$!
    mw_mark 'keepalived stopping here: the VIP goes to the new primary'
    ${raw(crashPoint("promoted"))}
    mw_phase=rejoin
fi
if [ "$mw_phase" = rejoin ]; then
    mw_rpsql "$mw_new" -c ${createSlot(mySlot)} >/dev/null
    # A new primary's control file shows its timeline only after a checkpoint, and pg_rewind reads it there.
    mw_rpsql "$mw_new" -c CHECKPOINT >/dev/null || mw_mark "could not checkpoint $mw_new (the rejoin may need a base backup)"
    mw_save_own_files
    mw_source="host=$mw_new port=$mw_port user=$mw_user dbname=postgres passfile=$mw_passfile"
    if mw_rewound=$(mw_as "$mw_cbin/pg_rewind" -D "$mw_data" --source-server="$mw_source" 2>&1); then
        mw_mark "pg_rewind: $(printf '%s' "$mw_rewound" | tail -n 1)"
    else
        mw_mark "pg_rewind could not run ($(printf '%s' "$mw_rewound" | tail -n 1)): rebuilding from a base backup of $mw_new"
        find "$mw_data" -mindepth 1 -delete
        mw_as env PGPASSFILE="$mw_passfile" "$mw_cbin/pg_basebackup" -h "$mw_new" -p "$mw_port" -U "$mw_user" -w -D "$mw_data" \\
            -X stream -S ${mySlot} -c fast || mw_die "pg_basebackup from $mw_new failed"
    fi
    for f in ${OWN_FILES}; do [ ! -e ${conf}/"$f" ] || cp -p ${conf}/"$f" "$mw_data/$f"; done
    mw_standby_settings "$mw_new" ${mySlot}
    mw_start
    mw_await_streaming 60 "this host's standby to stream from $mw_new" "$mw_new"
    mw_caught_up "$mw_new" ${r.catchUpSeconds}
fi
rm -rf ${conf}
rm -f "$MW_STEP_DIR/demoted"
mw_psql -c ${`SELECT pg_drop_replication_slot('${theirSlot}') FROM pg_replication_slots WHERE slot_name = '${theirSlot}' AND NOT active`} >/dev/null 2>&1 || :
# keepalived runs here again, as a backup (a re-run after a crash may find it stopped too).
[ -z "\${mw_ka_stopping:-}" ] || wait "$mw_ka_stopping" || :
if ! { ${raw(ka.status)}; } >/dev/null 2>&1; then
    ${raw(ka.start)} >/dev/null || mw_die 'keepalived did not start again on this host'
    mw_mark 'keepalived started again'
fi
mw_wait ${VIP_TIMEOUT_SECONDS} 'the VIP to leave this host' mw_lacks_vip
mw_wait ${VIP_TIMEOUT_SECONDS} 'the primary to answer on the VIP' sh -c '[ "$(PGPASSFILE="$1" PGCONNECT_TIMEOUT=2 "$2/psql" -h "$3" -p "$4" -U "$5" -d postgres -w -X -At -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]' sh "$mw_passfile" "$mw_cbin" "$mw_vip" "$mw_port" "$mw_user"
mw_mark "switched: $mw_new is the primary behind the VIP; this host streams from it and has caught up"
`;
}

/** On the master: the switch to the standby. Its inverse has nothing to undo (the switch back runs on the standby). */
export function switchToStandby(r: ResolvedPostgresHa, switchSeconds: number): Reversible {
    return {
        forward: switchScript(r, r.master, r.standby, switchSeconds),
        inverse: sh`echo 'middleware: nothing to undo here: the switch back runs on the other host'`,
    };
}

/**
 * On the standby, before the switch: proves it streams from the master and has caught up
 * within the switch's time (a standby that cannot keep up fails here, before anything stops).
 * Its inverse is the switch back, run on the standby (then the primary).
 */
export function switchBack(r: ResolvedPostgresHa, switchSeconds: number): Reversible {
    return {
        forward: sh`${raw(postgresPreamble(r))}
mw_running && [ "$(mw_recovery)" = t ] || mw_die 'this host does not run a standby: build it first'
mw_await_streaming 30 ${`the standby to stream from ${r.master.address}`} ${r.master.address}
mw_caught_up ${r.master.address} ${switchSeconds}
`,
        inverse: switchScript(r, r.standby, r.master, switchSeconds),
    };
}
