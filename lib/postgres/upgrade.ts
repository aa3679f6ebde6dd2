/**
 * The major upgrade of the pair, run on the master: the standby stays on the old version as the
 * way back (the runbook's "new standby on the old version"), the primary is stopped cleanly once
 * that standby is caught up, the standby replays the shutdown checkpoint (it then holds every
 * commit the primary acknowledged), `pg_upgrade --link` builds the new cluster from the old, and
 * the new server starts behind the VIP.
 *
 * The inverse, which is also the undo of a failed forward, is the runbook's way back: promote
 * the old-version standby, rebuild this host as its standby from an empty data directory, check
 * the new primary's pg_hba.conf lists this host, and both ends agree on the replay position
 * after some traffic. It refuses once the upgraded cluster has assigned a transaction id (a
 * write the old-version standby does not have) unless the operator, told so, asks for it.
 *
 * @module
 */
import { crashPoint, Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { HostArgs } from "../core/host";
import type { ResolvedPostgresHa } from "./args";
import { VIP_TIMEOUT_SECONDS } from "./keepalived";
import { postgresPreamble, slotName } from "./pg-sh";
import { SWITCH_MAX_LAG_BYTES } from "./switchover";

/** The file on the master that tells the way back to go ahead although the upgraded cluster took writes. */
export const DISCARD_FILE = "discard-commits-after-upgrade";

/** The config files a rebuilt cluster keeps as the site had them. */
const OWN_FILES = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf", "postgresql.auto.conf"];

/** Shell helpers of both directions. */
function upgradePreamble(r: ResolvedPostgresHa, wayBack: HostArgs): string {
    const u = r.upgrade!;
    return sh`${raw(postgresPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
mw_new_bin=${u.binDir}
mw_new_major=${u.version}
mw_old_major=${r.version}
mw_old_host=${wayBack.address}
mw_next="$mw_data.mw-$mw_new_major"
mw_old="$mw_data.mw-$mw_old_major-old"
mw_conf="$MW_STEP_DIR/conf"
mw_discard="$MW_STEP_DIR/"${DISCARD_FILE}
mw_my_slot=${slotName(r.master.name)}
mw_my_address=${r.master.address}
mw_major_of() { cat "$1/PG_VERSION" 2>/dev/null || echo none; }
# A new, empty cluster of the new version beside the data directory, with the site's config files.
mw_init_next() {
    IFS='|' read -r mw_su mw_enc mw_collate mw_ctype mw_sums <"$MW_STEP_DIR/initdb"
    mw_sums_flag=; [ "$mw_sums" != on ] || mw_sums_flag=--data-checksums
    rm -rf "$mw_next" "$mw_pgdir/upgrade"
    mkdir -p "$mw_pgdir/upgrade" && chown "$mw_os" "$mw_pgdir/upgrade"
    # Made here as root: the data directory's parent need not be writable by the cluster's account.
    mkdir "$mw_next" && chown "$mw_os" "$mw_next" && chmod 0700 "$mw_next"
    mw_as "$mw_new_bin/initdb" -D "$mw_next" -U "$mw_su" -E "$mw_enc" --lc-collate="$mw_collate" --lc-ctype="$mw_ctype" $mw_sums_flag >"$mw_pgdir/upgrade/initdb.log" 2>&1 ||
        mw_die "initdb of PostgreSQL $mw_new_major failed: $(tail -n 3 "$mw_pgdir/upgrade/initdb.log")"
    for f in ${OWN_FILES}; do [ ! -e "$mw_conf/$f" ] || cp -p "$mw_conf/$f" "$mw_next/$f"; done
}
mw_remote_recovery() { mw_rpsql "$mw_old_host" -c 'SELECT pg_is_in_recovery()' 2>/dev/null || echo down; }
mw_remote_replayed_past() { [ "$(mw_rpsql "$mw_old_host" -c "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$1') > 0" 2>/dev/null)" = t ]; }
mw_new_running() { mw_as "$mw_new_bin/pg_ctl" -D "$mw_data" status >/dev/null 2>&1; }
# The next transaction id of a cluster, as one number (epoch * 2^32 + xid): SQL when it runs, its control file when not.
mw_next_xid() {
    if mw_running; then mw_psql -c 'SELECT pg_snapshot_xmax(pg_current_snapshot())'; return; fi
    mw_x=$("$1/pg_controldata" "$mw_data" | sed -n "s/^Latest checkpoint's NextXID: *//p")
    case $mw_x in *:*) echo $(( \${mw_x%%:*} * 4294967296 + \${mw_x#*:} )) ;; *) echo "$mw_x" ;; esac
}
`;
}

/**
 * On the master: the upgrade; its inverse is the runbook's way back. The way back is the spare
 * when there is one, else the standby.
 */
export function upgradeMaster(r: ResolvedPostgresHa, switchSeconds: number): Reversible {
    const wayBack = r.spare ?? r.standby;
    const S = wayBack.address;
    const theirSlot = slotName(wayBack.name);
    const forward = sh`${raw(upgradePreamble(r, wayBack))}
mw_found=$("$mw_new_bin/postgres" --version 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \\([0-9]*\\).*/\\1/p')
[ "$mw_found" = "$mw_new_major" ] || mw_die "the binaries in $mw_new_bin are not PostgreSQL $mw_new_major (found: \${mw_found:-none})"
[ -x "$mw_new_bin/pg_upgrade" ] || mw_die "no pg_upgrade in $mw_new_bin"
mw_lag_small() {
    mw_lag=$(mw_psql -c ${`SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)), -1) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '${theirSlot}'`})
    [ "$mw_lag" -ge 0 ] && [ "$mw_lag" -le ${SWITCH_MAX_LAG_BYTES} ]
}
mw_serve_again() { mw_start; mw_die "$@"; }
if [ -e "$MW_STEP_DIR/upgraded" ] && [ "$(mw_major_of "$mw_data")" = "$mw_new_major" ]; then
    mw_mark "resuming: $mw_data holds the upgraded cluster"
elif [ "$(mw_major_of "$mw_data")" = "$mw_old_major" ] && { [ ! -e "$MW_STEP_DIR/stopped-at" ] || mw_running; }; then
    # Running again after the stop: the host was rebooted and its init script started the old
    # cluster (pg_upgrade had not run, or it would not start); the primary serves: stop it again.
    rm -f "$MW_STEP_DIR/stopped-at"
    # A crash between the clean stop and the stopped-at mark (the replay wait) left it shut down: serve again, then redo.
    mw_running || { [ "$(mw_control 'Database cluster state')" = 'shut down' ] && mw_start && mw_running; } ||
        mw_die "PostgreSQL $mw_old_major does not run in $mw_data on this host: the upgrade starts from a serving primary"
    [ "$(mw_recovery)" = f ] || mw_die "this host's cluster is a standby (the way back of an earlier upgrade made $mw_old_host the primary): remove upgrade from the config and run up to switch back here first"
    [ "$(mw_remote_recovery)" = t ] || mw_die "the standby at $mw_old_host, the way back, is not a running standby: nothing was changed"
    mw_wait ${switchSeconds} ${`the standby at ${S} to stream through slot ${theirSlot} within ${SWITCH_MAX_LAG_BYTES} bytes`} mw_lag_small ||
        mw_die "the standby at $mw_old_host is not close enough (replay lag $mw_lag bytes): nothing was changed"
    # What initdb of the new cluster must repeat for pg_upgrade: superuser, encoding, locale, checksums.
    mw_psql -c "SELECT (SELECT rolname FROM pg_roles WHERE oid = 10), pg_encoding_to_char(encoding), datcollate, datctype, current_setting('data_checksums') FROM pg_database WHERE datname = 'template0'" >"$MW_STEP_DIR/initdb.new"
    mv -f "$MW_STEP_DIR/initdb.new" "$MW_STEP_DIR/initdb"
    if [ ! -d "$mw_conf" ]; then
        mkdir -p "$mw_conf.new"
        for f in ${OWN_FILES}; do [ ! -e "$mw_data/$f" ] || cp -p "$mw_data/$f" "$mw_conf.new/"; done
        mv "$mw_conf.new" "$mw_conf"
    fi
    # pg_upgrade --check against the running primary: a doomed upgrade fails here, while it still serves.
    rm -f "$MW_STEP_DIR/checked"
    mw_init_next
    mw_mark "pg_upgrade --check against the running PostgreSQL $mw_old_major"
    if ! (cd "$mw_pgdir/upgrade" && mw_as "$mw_new_bin/pg_upgrade" --check --link -b "$mw_bin" -B "$mw_new_bin" -d "$mw_data" -D "$mw_next" -U "$mw_su" \\
            -s "$mw_pgdir/upgrade" >"$mw_pgdir/upgrade/pg_upgrade-check.out" 2>&1); then
        mw_out=$(grep -v '^ *$' "$mw_pgdir/upgrade/pg_upgrade-check.out" | tail -n 8 | tr '\\n' ' ')
        rm -rf "$mw_next" "$mw_pgdir/upgrade"
        mw_die "pg_upgrade --check failed, nothing was stopped, this host serves PostgreSQL $mw_old_major as before: $mw_out"
    fi
    : >"$MW_STEP_DIR/checked"
    mw_mark "pg_upgrade --check passed"
    mw_psql -c CHECKPOINT >/dev/null
    mw_mark "checkpoint done (standby lag $mw_lag bytes); stopping PostgreSQL $mw_old_major"
    mw_stop
    [ "$(mw_control 'Database cluster state')" = 'shut down' ] || mw_serve_again 'the primary did not shut down cleanly; it serves again'
    mw_ckpt=$(mw_control 'Latest checkpoint location')
    mw_lsn_ok "$mw_ckpt" || mw_serve_again "unexpected shutdown checkpoint location $mw_ckpt; the primary serves again"
    if ! mw_wait ${switchSeconds} "the standby at $mw_old_host to replay the shutdown checkpoint $mw_ckpt" mw_remote_replayed_past "$mw_ckpt"; then
        mw_serve_again "the standby at $mw_old_host did not replay the shutdown checkpoint $mw_ckpt: nothing was upgraded, this host serves again"
    fi
    printf '%s\\n' "$mw_ckpt" >"$MW_STEP_DIR/stopped-at"
    mw_mark "stopped cleanly at $mw_ckpt; the standby at $mw_old_host replayed it: it holds every acknowledged commit"
fi
${raw(crashPoint("stopped"))}
if [ ! -e "$MW_STEP_DIR/upgraded" ]; then
    [ -e "$MW_STEP_DIR/stopped-at" ] || mw_die "this host's cluster is stopped and this step did not stop it"
    ! mw_running || mw_die "a server runs in $mw_data while the upgrade expected it stopped"
    [ "$(mw_major_of "$mw_data")" = "$mw_old_major" ] || mw_die "$mw_data holds PostgreSQL $(mw_major_of "$mw_data"), not $mw_old_major"
    # pg_upgrade --link renames the old pg_control before it links; a crash after that left it as
    # pg_control.old. The new cluster never started (no upgraded mark), so the old one is intact.
    [ -e "$mw_data/global/pg_control" ] || [ ! -e "$mw_data/global/pg_control.old" ] || mv "$mw_data/global/pg_control.old" "$mw_data/global/pg_control"
    # The cluster the check used is still empty: reused (a retry after a failed or crashed pg_upgrade makes a new one).
    if [ -e "$MW_STEP_DIR/checked" ] && [ -d "$mw_next" ]; then
        IFS='|' read -r mw_su mw_rest <"$MW_STEP_DIR/initdb"
    else
        mw_init_next
    fi
    rm -f "$MW_STEP_DIR/checked"
    mw_mark "pg_upgrade --link of $mw_data (PostgreSQL $mw_old_major) into $mw_next (PostgreSQL $mw_new_major)"
    if ! (cd "$mw_pgdir/upgrade" && mw_as "$mw_new_bin/pg_upgrade" --link -b "$mw_bin" -B "$mw_new_bin" -d "$mw_data" -D "$mw_next" -U "$mw_su" \\
            -s "$mw_pgdir/upgrade" >"$mw_pgdir/upgrade/pg_upgrade.out" 2>&1); then
        mw_die "pg_upgrade failed: $(grep -v '^ *$' "$mw_pgdir/upgrade/pg_upgrade.out" | tail -n 6 | tr '\\n' ' ')" \\
            "$(cat "$mw_next"/pg_upgrade_output.d/*/log/pg_upgrade_dump_*.log 2>/dev/null | grep -m 2 -E 'ERROR|FATAL' | tr '\\n' ' ')"
    fi
    : >"$MW_STEP_DIR/upgraded"
    mw_mark "pg_upgrade done"
fi
${raw(crashPoint("upgraded"))}
if [ "$(mw_major_of "$mw_data")" != "$mw_new_major" ]; then
    if [ -d "$mw_data" ]; then mv "$mw_data" "$mw_old"; fi
    mv "$mw_next" "$mw_data"
fi
[ -e "$MW_STEP_DIR/next-xid" ] || { mw_next_xid "$mw_new_bin" >"$MW_STEP_DIR/next-xid.new" && mv -f "$MW_STEP_DIR/next-xid.new" "$MW_STEP_DIR/next-xid"; }
if ! mw_running; then
    mw_as "$mw_new_bin/pg_ctl" -D "$mw_data" -l "$mw_log" -w -t 300 start >/dev/null || mw_die "PostgreSQL $mw_new_major did not start; see $mw_log"
fi
[ "$(mw_psql -c 'SHOW server_version_num' | cut -c1-2)" = "$mw_new_major" ] || mw_die "the server in $mw_data is not PostgreSQL $mw_new_major"
rm -rf "$mw_old" "$mw_pgdir/upgrade"
mw_wait ${VIP_TIMEOUT_SECONDS} 'the VIP on this host' mw_has_vip
mw_mark "PostgreSQL $mw_new_major serves behind the VIP; the standby at $mw_old_host keeps PostgreSQL $mw_old_major as the way back"
`;

    const inverse = sh`${raw(upgradePreamble(r, wayBack))}
if [ "$(mw_major_of "$mw_data")" = "$mw_old_major" ] && [ ! -e "$MW_STEP_DIR/upgraded" ] && [ ! -e "$MW_STEP_DIR/rebuilt" ] &&
    { [ ! -e "$MW_STEP_DIR/stopped-at" ] || { mw_running && [ "$(mw_recovery)" = f ] && [ "$(mw_remote_recovery)" = t ]; }; }; then
    mw_running || mw_start
    rm -f "$MW_STEP_DIR/stopped-at"
    rm -rf "$MW_STEP_DIR/initdb" "$MW_STEP_DIR/checked" "$mw_conf" "$mw_next" "$mw_pgdir/upgrade"
    mw_mark 'nothing was upgraded: this host serves as it did'
    exit 0
fi
if [ -e "$MW_STEP_DIR/next-xid" ] && [ "$(mw_major_of "$mw_data")" = "$mw_new_major" ] && [ ! -e "$mw_discard" ]; then
    # A control file written before a crash may not count the last transactions: recover first.
    if ! mw_running && [ "$("$mw_new_bin/pg_controldata" "$mw_data" | sed -n 's/^Database cluster state: *//p')" != 'shut down' ]; then
        mw_mark "PostgreSQL $mw_new_major did not shut down cleanly: starting it to count its transactions"
        mw_as "$mw_new_bin/pg_ctl" -D "$mw_data" -l "$mw_log" -w -t 300 start >/dev/null || mw_die "PostgreSQL $mw_new_major did not start; see $mw_log"
    fi
    mw_since=$(( $(mw_next_xid "$mw_new_bin") - $(cat "$MW_STEP_DIR/next-xid") ))
    if [ "$mw_since" -gt 0 ]; then
        mw_die "refusing the way back to PostgreSQL $mw_old_major: the upgraded cluster on this host has assigned $mw_since transaction ids since the upgrade (writes, maybe acknowledged commits, that the standby at $mw_old_host does not have), and the way back would lose them. Keep the upgrade (put upgrade back in the config and run up), or, to roll back and lose those writes, run on this host: touch $mw_discard and run destroy (or up) again"
    fi
fi
${raw(crashPoint("checked"))}
# The runbook, 2: nothing of this host serves any more.
if mw_new_running; then mw_as "$mw_new_bin/pg_ctl" -D "$mw_data" -m fast -w -t 300 stop >/dev/null || mw_die "PostgreSQL $mw_new_major did not stop; see $mw_log"; fi
mw_stop
# The runbook, 4: promote the standby kept on the old version; it replayed this host's shutdown checkpoint.
case $(mw_remote_recovery) in
    t) mw_ckpt=$(cat "$MW_STEP_DIR/stopped-at")
       mw_wait ${switchSeconds} "the standby at $mw_old_host to replay $mw_ckpt" mw_remote_replayed_past "$mw_ckpt" ||
           mw_die "the standby at $mw_old_host has not replayed this host's shutdown checkpoint $mw_ckpt: it cannot be the way back"
       mw_promoted=$(mw_rpsql "$mw_old_host" -c 'SELECT pg_promote(true, 60)' 2>&1) || :
       [ "$(mw_remote_recovery)" = f ] || mw_die "promoting the standby at $mw_old_host failed ($mw_promoted)"
       mw_mark "the standby at $mw_old_host (PostgreSQL $mw_old_major) promoted" ;;
    f) mw_mark "resuming: $mw_old_host is the primary already" ;;
    *) mw_die "the standby at $mw_old_host does not answer: start it (it holds every commit acknowledged before the upgrade) and run again" ;;
esac
${raw(crashPoint("promoted"))}
mw_wait ${VIP_TIMEOUT_SECONDS} "the VIP to leave this host" mw_lacks_vip
mw_wait ${VIP_TIMEOUT_SECONDS} 'the new primary to answer on the VIP' sh -c '[ "$(PGPASSFILE="$1" PGCONNECT_TIMEOUT=2 "$2/psql" -h "$3" -p "$4" -U "$5" -d postgres -w -X -At -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]' sh "$mw_passfile" "$mw_cbin" "$mw_vip" "$mw_port" "$mw_user"
# The runbook, 5: this host rebuilt as its standby from an empty data directory.
mw_rpsql "$mw_old_host" -c "SELECT pg_create_physical_replication_slot('$mw_my_slot') WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '$mw_my_slot')" >/dev/null
if [ ! -e "$MW_STEP_DIR/rebuilt" ]; then
    if [ ! -d "$mw_conf" ]; then
        mkdir -p "$mw_conf.new"
        for f in ${OWN_FILES}; do [ ! -e "$mw_data/$f" ] || cp -p "$mw_data/$f" "$mw_conf.new/"; done
        mv "$mw_conf.new" "$mw_conf"
    fi
    rm -rf "$mw_next" "$mw_old" "$mw_pgdir/upgrade"
    mkdir -p "$mw_data" && chown "$mw_os" "$mw_data" && chmod 0700 "$mw_data"
    find "$mw_data" -mindepth 1 -delete
    mw_mark "emptied $mw_data; base backup from $mw_old_host"
    ${raw(crashPoint("emptied"))}
    mw_as env PGPASSFILE="$mw_passfile" "$mw_cbin/pg_basebackup" -h "$mw_old_host" -p "$mw_port" -U "$mw_user" -w -D "$mw_data" \\
        -X stream -S "$mw_my_slot" -c fast || mw_die "pg_basebackup from $mw_old_host failed"
    for f in ${OWN_FILES}; do [ ! -e "$mw_conf/$f" ] || cp -p "$mw_conf/$f" "$mw_data/$f"; done
    [ -e "$mw_pgdir/postgresql.auto.conf.orig" ] || [ ! -e "$mw_conf/postgresql.auto.conf" ] || cp -p "$mw_conf/postgresql.auto.conf" "$mw_pgdir/postgresql.auto.conf.orig"
    mw_standby_settings "$mw_old_host" "$mw_my_slot"
    : >"$MW_STEP_DIR/rebuilt"
fi
mw_running || mw_start
mw_await_streaming 60 "this host's standby to stream from $mw_old_host" "$mw_old_host"
# The runbook, 6: the new primary's pg_hba.conf lets this host replicate, and has no errors.
mw_hba=$(mw_rpsql "$mw_old_host" -c "SELECT count(*) FILTER (WHERE error IS NOT NULL) || ' ' || count(*) FILTER (WHERE 'replication' = ANY(database) AND '$mw_user' = ANY(user_name) AND address = '$mw_my_address') FROM pg_hba_file_rules") ||
    mw_die "cannot read pg_hba_file_rules on $mw_old_host"
[ "\${mw_hba%% *}" = 0 ] || mw_die "pg_hba.conf on $mw_old_host has errors"
[ "\${mw_hba#* }" -ge 1 ] || mw_die "pg_hba.conf on $mw_old_host has no replication entry for this host ($mw_my_address)"
mw_mark "pg_hba.conf on $mw_old_host lists this host for replication"
# The runbook, 5 and 7: check master / check standby agree, after some traffic.
mw_rpsql "$mw_old_host" -c "SELECT pg_logical_emit_message(false, 'pulumi-middleware', 'way back check')" >/dev/null
mw_caught_up "$mw_old_host" ${r.catchUpSeconds}
rm -rf "$mw_conf" "$MW_STEP_DIR/initdb" "$MW_STEP_DIR/checked" "$MW_STEP_DIR/stopped-at" "$MW_STEP_DIR/upgraded" "$MW_STEP_DIR/next-xid" "$MW_STEP_DIR/rebuilt" "$mw_discard"
mw_mark "way back done: $mw_old_host is the primary on PostgreSQL $mw_old_major behind the VIP; this host streams from it and has caught up"
`;
    return { forward, inverse };
}
