/**
 * The spare of a major upgrade (the runbook's "new standby on the old version"): a third host,
 * built as a second standby, stays on the old version as the way back while the pair's standby
 * is rebuilt on the new version from the upgraded primary, so the upgraded master keeps a
 * standby of its own version.
 *
 * Going back runs the steps' inverses in reverse order, and the first of them runs while the
 * master still serves the new version: the standby is rebuilt on the old version from the spare
 * (a base backup of a standby) and cascades from it; the way back then promotes the spare (the
 * standby follows its new timeline), the switch back makes the master the primary again, and
 * last the standby is pointed at the master again.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedPostgresHa } from "./args";
import { onBuild } from "./minor-roll";
import { postgresPreamble, slotName } from "./pg-sh";

function createSlotSql(slot: string): string {
    return `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '${slot}')`;
}

function dropIdleSlotSql(slot: string): string {
    return `SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`;
}

/** Shell helpers of both directions of {@link standbyOnNewVersion}. */
function helpers(r: ResolvedPostgresHa): string {
    const u = r.upgrade!;
    return sh`mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
mw_old_bin=${r.binDir}
mw_new_bin=${u.binDir}
mw_old_major=${r.version}
mw_new_major=${u.version}
mw_master=${r.master.address}
mw_spare=${r.spare!.address}
mw_slot=${slotName(r.standby.name)}
mw_major_of() { cat "$mw_data/PG_VERSION" 2>/dev/null || echo none; }
mw_remote_major() { mw_rpsql "$1" -c 'SHOW server_version_num' 2>/dev/null | cut -c1-2; }
mw_runs_on() { mw_as "$1/pg_ctl" -D "$mw_data" status >/dev/null 2>&1; }
mw_stop_on() { ! mw_runs_on "$1" || mw_as "$1/pg_ctl" -D "$mw_data" -m fast -w -t 300 stop >/dev/null || mw_die "PostgreSQL did not stop; see $mw_log"; }
# Rebuilds this host's data dir (now on PostgreSQL MAJOR) from a base backup of ADDRESS, taken
# with BIN's pg_basebackup through slot $mw_slot there; MARKER records that it is done.
mw_rebuild_from() {
    mw_rb_address=$1; mw_rb_bin=$2; mw_rb_marker=$3; mw_rb_source=$4; mw_rb_major=$5
    [ -d "$mw_data" ] || mw_die "$mw_data is missing on this host: the standby build made it"
    find "$mw_data" -mindepth 1 -delete
    mw_rpsql "$mw_rb_address" -c ${createSlotSql(slotName(r.standby.name))} >/dev/null || mw_die "cannot create slot $mw_slot on $mw_rb_source"
    mw_mark "emptied $mw_data (PostgreSQL $mw_rb_major); base backup of $mw_rb_source"
    mw_as env PGPASSFILE="$mw_passfile" "$mw_rb_bin/pg_basebackup" -h "$mw_rb_address" -p "$mw_port" -U "$mw_user" -w -D "$mw_data" \\
        -X stream -S "$mw_slot" -c fast || mw_die "pg_basebackup from $mw_rb_source failed"
    : >"$mw_rb_marker"
    mw_mark "base backup done: $(du -sm "$mw_data" | cut -f1) MB"
}
`;
}

/**
 * On the standby, after the master's upgrade: rebuilt on the new version from the upgraded
 * primary. Its inverse rebuilds it on the old version from the spare, cascading from it.
 */
export function standbyOnNewVersion(r: ResolvedPostgresHa): Reversible {
    const u = r.upgrade!;
    const onNew = onBuild(r, u.binDir, u.binDir);
    const slot = slotName(r.standby.name);
    const forward = sh`${raw(postgresPreamble(onNew))}
${raw(helpers(r))}
mw_found=$("$mw_new_bin/postgres" --version 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \\([0-9]*\\).*/\\1/p')
[ "$mw_found" = "$mw_new_major" ] || mw_die "the binaries in $mw_new_bin are not PostgreSQL $mw_new_major on this host (found: \${mw_found:-none})"
[ "$(mw_remote_major "$mw_master")" = "$mw_new_major" ] || mw_die "the master at $mw_master does not serve PostgreSQL $mw_new_major"
if [ "$(mw_major_of)" = "$mw_new_major" ] && [ -e "$MW_STEP_DIR/new-backup-done" ] && mw_runs_on "$mw_new_bin"; then
    mw_mark "resuming: the standby runs PostgreSQL $mw_new_major"
else
    mw_stop_on "$mw_old_bin"
    mw_stop_on "$mw_new_bin"
    if [ ! -e "$MW_STEP_DIR/new-backup-done" ]; then
        mw_rebuild_from "$mw_master" "$mw_new_bin" "$MW_STEP_DIR/new-backup-done" "the upgraded master at $mw_master" "$mw_old_major"
    fi
    mw_standby_settings "$mw_master" "$mw_slot"
    mw_start
fi
mw_await_streaming 60 "the standby to stream from the master at $mw_master" "$mw_master"
mw_caught_up "$mw_master" ${r.catchUpSeconds}
rm -f "$MW_STEP_DIR/old-backup-done"
mw_mark "the standby runs PostgreSQL $mw_new_major from $mw_new_bin; the spare at $mw_spare keeps $mw_old_major as the way back"
`;
    const inverse = sh`${raw(postgresPreamble(r))}
${raw(helpers(r))}
mw_spare_lsn() { mw_rpsql "$mw_spare" -c 'SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END'; }
if [ "$(mw_major_of)" = "$mw_old_major" ] && mw_runs_on "$mw_old_bin" && [ "$(mw_recovery)" = t ] &&
    { mw_streaming_from "$mw_spare" || { [ "$(mw_remote_major "$mw_master")" = "$mw_old_major" ] && mw_streaming_from "$mw_master"; }; }; then
    mw_mark "resuming: the standby runs PostgreSQL $mw_old_major and streams"
else
    mw_stop_on "$mw_new_bin"
    mw_stop_on "$mw_old_bin"
    if [ ! -e "$MW_STEP_DIR/old-backup-done" ]; then
        [ "$(mw_remote_major "$mw_spare")" = "$mw_old_major" ] ||
            mw_die "the spare at $mw_spare does not answer as PostgreSQL $mw_old_major: start it (it is the way back) and run again"
        # A standby holds physical slots for its cascading standbys.
        mw_rebuild_from "$mw_spare" "$mw_cbin" "$MW_STEP_DIR/old-backup-done" "the spare at $mw_spare (PostgreSQL $mw_old_major)" "$mw_new_major"
    fi
    mw_standby_settings "$mw_spare" "$mw_slot"
    mw_start
    mw_await_streaming 60 "the standby to stream from the spare at $mw_spare" "$mw_spare"
fi
if [ "$(mw_remote_major "$mw_master")" = "$mw_new_major" ]; then
    mw_rpsql "$mw_master" -c ${dropIdleSlotSql(slot)} >/dev/null 2>&1 || :
fi
mw_target=$(mw_spare_lsn) && mw_lsn_ok "$mw_target" || mw_target=$(mw_rpsql "$mw_master" -c 'SELECT pg_current_wal_lsn()')
mw_wait ${r.catchUpSeconds} "the standby to replay up to $mw_target" mw_replayed_to "$mw_target" || mw_die "the standby did not catch up"
rm -f "$MW_STEP_DIR/new-backup-done" "$MW_STEP_DIR/old-backup-done"
mw_mark "the standby runs PostgreSQL $mw_old_major again, caught up"
`;
    return { forward, inverse };
}

/**
 * On the standby, while a spare is the way back of an upgrade: its forward checks the standby
 * streams from the master; its inverse, which runs after the way back and the switch back, points
 * the standby (cascading from the spare since the way back) at the master again.
 */
export function standbyFollowsMaster(r: ResolvedPostgresHa): Reversible {
    const M = r.master.address;
    const slot = slotName(r.standby.name);
    return {
        forward: sh`${raw(postgresPreamble(r))}
mw_running && [ "$(mw_recovery)" = t ] || mw_die 'this host does not run a standby: build it first'
mw_await_streaming 30 ${`the standby to stream from the master at ${M}`} ${M}
mw_caught_up ${M} ${r.catchUpSeconds}
`,
        inverse: sh`${raw(postgresPreamble(r))}
mw_running && [ "$(mw_recovery)" = t ] || mw_die 'this host does not run a standby (the way back leaves one here)'
if ! mw_streaming_from ${M}; then
    [ "$(mw_rpsql ${M} -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] || mw_die ${`the master at ${M} is not the primary: the standby stays where it streams from`}
    mw_rpsql ${M} -c ${createSlotSql(slot)} >/dev/null
    mw_standby_settings ${M} ${slot}
    mw_stop
    mw_start
    mw_await_streaming 60 ${`the standby to stream from the master at ${M}`} ${M}
    mw_mark ${`the standby follows the master at ${M} again`}
fi
mw_caught_up ${M} ${r.catchUpSeconds}
${raw(r.spare ? sh`mw_rpsql ${r.spare.address} -c ${dropIdleSlotSql(slot)} >/dev/null 2>&1 || :` : "")}
`,
    };
}
