/**
 * The master's side of the standby (the runbook's "setup-replication-on-master"): the
 * replication account, the standby's slot, pg_hba.conf entries for both hosts, and keepalived
 * following the primary. The inverse takes each away again; pg_hba.conf and keepalived.conf
 * come back byte for byte from the copies taken before the first change.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedPostgresHa } from "./args";
import { keepalivedTakeover } from "./keepalived";
import { postgresPreamble, slotName } from "./pg-sh";

/** Functions the replication account may run besides replication: promotion over SQL and what pg_rewind reads. */
export const REPLICATION_GRANTS = [
    "pg_promote(boolean, integer)",
    "pg_ls_dir(text, boolean, boolean)",
    "pg_stat_file(text, boolean)",
    "pg_read_binary_file(text)",
    "pg_read_binary_file(text, bigint, bigint, boolean)",
] as const;

/** The pg_hba.conf lines for one host of the pair: replication, and SQL on `postgres` (promotion, pg_rewind). */
export function hbaLines(r: ResolvedPostgresHa): string[] {
    const address = (a: string) => (/^[0-9.]+$/.test(a) ? `${a}/32` : a);
    return [r.master.address, r.standby.address, ...(r.spare ? [r.spare.address] : [])].flatMap((a) => [
        `host    replication     ${r.replicationUser}      ${address(a)}      scram-sha-256`,
        `host    postgres        ${r.replicationUser}      ${address(a)}      scram-sha-256`,
    ]);
}

/** First and last line of the library's block in pg_hba.conf. */
export const HBA_BEGIN = "# BEGIN pulumi-middleware replication";
const HBA_END = "# END pulumi-middleware replication";

/** SQL creating physical slot `slot` unless it exists. */
function createSlot(slot: string): string {
    return `SELECT pg_create_physical_replication_slot('${slot}') WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '${slot}')`;
}

/** On the master: replication account, slot(s), pg_hba.conf, keepalived. */
export function masterReplication(r: ResolvedPostgresHa, component: string): Reversible {
    const slot = slotName(r.standby.name);
    const spareSlot = r.spare ? slotName(r.spare.name) : undefined;
    const hba = [HBA_BEGIN, ...hbaLines(r), HBA_END];
    const grants = [
        ...REPLICATION_GRANTS.map((f) => `GRANT EXECUTE ON FUNCTION ${f} TO ${r.replicationUser};`),
        // The way back of an upgrade checks the promoted standby's pg_hba.conf over SQL (the runbook's "check pg_hba.conf").
        `GRANT SELECT ON pg_hba_file_rules TO ${r.replicationUser};`,
        `GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO ${r.replicationUser};`,
    ].join("\n");
    const ka = keepalivedTakeover(r, component, r.master.name);
    const savedHba = raw('"$MW_STEP_DIR/pg_hba.conf.orig"');
    const forward = sh`${raw(postgresPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
mw_running || mw_die "PostgreSQL is not running in $mw_data on this host: the master must serve when the standby is built"
[ "$(mw_recovery)" = f ] || mw_die "the cluster in $mw_data is in recovery (a standby): the master must be the primary"
mw_major=$(mw_psql -c 'SHOW server_version_num' | cut -c1-2)
[ "$mw_major" = ${r.version} ] || mw_die "the master runs PostgreSQL major version $mw_major, not "${r.version}
[ "$(mw_psql -c "SELECT setting IN ('replica', 'logical') FROM pg_settings WHERE name = 'wal_level'")" = t ] || mw_die 'wal_level must be replica or logical'
[ "$(mw_psql -c "SELECT setting::int >= 2 FROM pg_settings WHERE name = 'max_wal_senders'")" = t ] || mw_die 'max_wal_senders must be at least 2'
[ "$(mw_psql -c "SELECT setting::int >= 2 FROM pg_settings WHERE name = 'max_replication_slots'")" = t ] || mw_die 'max_replication_slots must be at least 2'
if [ "$(mw_psql -c "SELECT current_setting('data_checksums') = 'on' OR current_setting('wal_log_hints') = 'on'")" != t ]; then
    echo 'middleware: neither data checksums nor wal_log_hints: a rejoin that diverged is rebuilt from a base backup instead of pg_rewind'
fi
mw_hba=$(mw_psql -c 'SHOW hba_file')
[ -f "$mw_hba" ] || mw_die "pg_hba.conf ($mw_hba) is not a file"
printf '%s\\n' "$mw_hba" >"$MW_STEP_DIR/hba_file"
[ -e ${savedHba} ] || cp -p "$mw_hba" ${savedHba}
# The block goes first: pg_hba.conf is read top down, and the site's last lines may reject.
{ printf '%s\\n' ${hba}; sed ${`/^${HBA_BEGIN}/,/^${HBA_END.replace(/\//g, "\\/")}/d`} ${savedHba}; } >"$mw_hba.mw"
chown --reference=${savedHba} "$mw_hba.mw" && chmod --reference=${savedHba} "$mw_hba.mw"
mv -f "$mw_hba.mw" "$mw_hba"
[ "$(mw_psql -c 'SELECT pg_reload_conf()')" = t ]
[ "$(mw_psql -c 'SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL')" = 0 ] || mw_die "pg_hba.conf has errors after adding the replication entries"
mw_mark 'pg_hba.conf lists both hosts for replication'
# The password reaches psql on its stdin only; the statement is not logged, not even when it fails.
{ printf '%s\\n' "SET log_statement = 'none';" 'SET log_min_duration_statement = -1;' 'SET log_min_error_statement = panic;' 'SET client_min_messages = warning;'
  printf 'DO $mw$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN CREATE ROLE %s WITH LOGIN REPLICATION; END IF; END $mw$;\\n' ${`'${r.replicationUser}'`} ${r.replicationUser}
  printf "ALTER ROLE %s WITH LOGIN REPLICATION PASSWORD '%s';\\n" ${r.replicationUser} "$MW_PASSWORD"
  printf '%s\\n' ${grants}
  # pg_rewind reads a freshly promoted primary's timeline from its control file: the switch
  # checkpoints the new primary first, as the replication account (pg_checkpoint, PostgreSQL 15 on).
  printf 'DO $mw$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN GRANT pg_checkpoint TO %s; END IF; END $mw$;\\n' "'pg_checkpoint'" ${r.replicationUser}
} | mw_psql -f - >/dev/null
mw_psql -c ${createSlot(slot)} >/dev/null
${raw(spareSlot ? sh`mw_psql -c ${createSlot(spareSlot)} >/dev/null
mw_mark ${`slot ${spareSlot} of the spare ready`}
` : "")}mw_mark ${`replication account ${r.replicationUser} and slot ${slot} ready`}
${raw(ka.forward)}
mw_wait ${5} 'the VIP on the primary after the keepalived change' mw_has_vip
mw_mark 'the VIP stays on the primary'
`;
    const inverse = sh`${raw(postgresPreamble(r))}
mkdir -p "$MW_STEP_DIR"
if mw_running && [ "$(mw_recovery)" = t ]; then
    mw_die "this host's cluster is a standby: switch the primary back here first (set primary to this host)"
fi
mw_running || mw_start
${raw(ka.inverse)}
if [ -e "$MW_STEP_DIR/hba_file" ]; then
    mw_active=$(mw_psql -c ${`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${slot}' AND active`})
    [ "$mw_active" = 0 ] || mw_die ${`slot ${slot} is still in use: remove the standby first`}
    mw_psql -c ${`SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots WHERE slot_name = '${slot}'`} >/dev/null
${raw(spareSlot ? sh`    mw_active=$(mw_psql -c ${`SELECT count(*) FROM pg_replication_slots WHERE slot_name = '${spareSlot}' AND active`})
    [ "$mw_active" = 0 ] || mw_die ${`slot ${spareSlot} is still in use: remove the spare first`}
    mw_psql -c ${`SELECT pg_drop_replication_slot('${spareSlot}') FROM pg_replication_slots WHERE slot_name = '${spareSlot}'`} >/dev/null
` : "")}    mw_psql -c ${`DO $mw$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${r.replicationUser}') THEN DROP OWNED BY ${r.replicationUser}; DROP ROLE ${r.replicationUser}; END IF; END $mw$`} >/dev/null
    mw_hba=$(cat "$MW_STEP_DIR/hba_file")
    if [ -e ${savedHba} ]; then
        cp -p ${savedHba} "$mw_hba"
        [ "$(mw_psql -c 'SELECT pg_reload_conf()')" = t ]
    fi
fi
# A switchover and back left the site's postgresql.auto.conf aside (see switchover.ts).
if [ -e "$mw_pgdir/postgresql.auto.conf.orig" ]; then
    cp -p "$mw_pgdir/postgresql.auto.conf.orig" "$mw_data/postgresql.auto.conf"
    [ "$(mw_psql -c 'SELECT pg_reload_conf()')" = t ]
fi
rm -f "$mw_passfile" "$mw_pgdir/postgresql.auto.conf.orig"
rmdir "$mw_pgdir" "$MW_STATE_DIR/postgres" 2>/dev/null || :
rm -f ${savedHba} "$MW_STEP_DIR/hba_file"
mw_mark 'the master is as the site had it: no replication account, slot or pg_hba.conf entries'
`;
    return { forward, inverse };
}
