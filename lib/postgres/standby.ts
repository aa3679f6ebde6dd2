/**
 * The standby (the runbook's "setup-replication-on-standby"): a base backup of the master into
 * an empty data directory, standby settings, start, and proof that it streams and has replayed
 * what the master had written; keepalived joins the VIP's VRRP group. The inverse stops it and
 * removes what the step made, and refuses while this host is the primary.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import { crashPoint, Reversible } from "../core/actions/reversible";
import type { HostArgs } from "../core/host";
import type { ResolvedPostgresHa } from "./args";
import { keepalivedTakeover } from "./keepalived";
import { postgresPreamble, slotName } from "./pg-sh";

/** On the standby host (or the spare, `host`): base backup, standby settings, start, caught up; keepalived. */
export function buildStandby(r: ResolvedPostgresHa, component: string, host: HostArgs = r.standby): Reversible {
    const M = r.master.address;
    const slot = slotName(host.name);
    const made = raw('"$MW_STEP_DIR/made"');
    const ka = keepalivedTakeover(r, component, host.name);
    const forward = sh`${raw(postgresPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
mw_major=$("$mw_bin/postgres" --version | sed -n 's/^postgres (PostgreSQL) \\([0-9]*\\).*/\\1/p')
[ "$mw_major" = ${r.version} ] || mw_die "the binaries in "${r.binDir}" are PostgreSQL $mw_major, not "${r.version}
if mw_running; then
    [ "$(mw_recovery)" = t ] || mw_die "a primary runs in $mw_data on this host; expected none, or the standby this step built"
    [ -e ${made} ] || mw_die "a cluster runs in $mw_data on this host that this step did not build"
    mw_mark 'resuming: the standby runs'
else
    if [ -d "$mw_data" ] && [ -n "$(ls -A "$mw_data")" ]; then
        [ -e ${made} ] || mw_die "$mw_data is not empty on this host: the standby is built only into an empty data directory"
        if [ ! -e "$MW_STEP_DIR/backup-done" ]; then
            mw_mark 'resuming: an interrupted base backup is removed'
            find "$mw_data" -mindepth 1 -delete
        fi
    fi
    if [ ! -e ${made} ]; then
        # The topmost directory this step creates (the data directory or one of its parents), or "-".
        mw_top=-; mw_d=$mw_data
        while [ ! -e "$mw_d" ]; do mw_top=$mw_d; mw_d=$(dirname "$mw_d"); done
        printf '%s\\n' "$mw_top" >${made}
    fi
    mkdir -p "$mw_data"
    chown "$mw_os" "$mw_data"
    chmod 0700 "$mw_data"
    if [ ! -e "$MW_STEP_DIR/backup-done" ]; then
        mw_mark ${`base backup from the master at ${M}`}
        mw_as env PGPASSFILE="$mw_passfile" "$mw_cbin/pg_basebackup" -h ${M} -p "$mw_port" -U "$mw_user" -w -D "$mw_data" \\
            -X stream -S ${slot} -c fast || mw_die ${`pg_basebackup from ${M} failed`}
        : >"$MW_STEP_DIR/backup-done"
        mw_mark "base backup done: $(du -sm "$mw_data" | cut -f1) MB"
    fi
    ${raw(crashPoint("backup-done"))}
    mw_standby_settings ${M} ${slot}
    mw_start
fi
mw_await_streaming ${60} ${`the standby to stream from the master at ${M}`} ${M}
mw_caught_up ${M} ${r.catchUpSeconds}
${raw(ka.forward)}
mw_mark 'the standby streams and has replayed what the master had written'
`;
    const inverse = sh`${raw(postgresPreamble(r))}
if mw_running && [ "$(mw_recovery)" = f ]; then
    mw_die "this host's cluster is the primary: switch the primary back to the master first"
fi
${raw(ka.inverse)}
mw_stop
${raw(crashPoint("stopped"))}
if [ -e ${made} ]; then
    mw_top=$(cat ${made})
    case $mw_top in
        -) find "$mw_data" -mindepth 1 -delete ;;
        /?*) case $mw_data in "$mw_top"|"$mw_top"/*) rm -rf "$mw_top" ;; *) mw_die "corrupt marker $mw_top" ;; esac ;;
        *) mw_die "corrupt marker $mw_top" ;;
    esac
fi
rm -f "$mw_passfile" "$mw_pgdir/postgresql.auto.conf.orig" ${made} "$MW_STEP_DIR/backup-done"
rmdir "$mw_pgdir" "$MW_STATE_DIR/postgres" 2>/dev/null || :
mw_mark 'the standby is gone from this host'
`;
    return { forward, inverse };
}
