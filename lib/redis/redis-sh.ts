/**
 * Shell functions the Redis steps share: talk to a local Redis with the password from stdin,
 * record and compare data digests, pause writes, wait for loading, replication and the VIP.
 *
 * The password is read once from stdin into `$MW_PASSWORD` and only ever reaches `redis-cli`
 * on its stdin through the `printf` builtin: never argv, never the environment.
 *
 * @module
 */
import { readSecretFromStdin } from "../core/script";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";

/** Seconds a write pause lasts at most; the switch unpauses earlier by stopping the old server. */
export const WRITE_PAUSE_MS = 60_000;

/**
 * Preamble of every Redis step: reads the password and defines
 * `mw_rcli CLI COMMAND...` (prints the reply, fails on a refused password or a dead server),
 * `mw_rcli_at ADDR CLI COMMAND...` (the same for the redis at ADDR), `mw_ok_at ADDR CLI COMMAND...`
 * (fails unless the reply is OK), `mw_role_at ADDR CLI`,
 * `mw_run_id_at ADDR CLI`, `mw_wait_caught_up MASTER REPLICA CLI SECONDS`,
 * `mw_digest CLI` (keys per db and DEBUG DIGEST on one line), `mw_keyspace CLI` (`db keys expires` per
 * line), `mw_same_keyspace BEFORE AFTER`, `mw_offline_digest SERVER RDB`, `mw_rdb_version SERVER`, `mw_version_of SERVER`, `mw_mark WHAT` (ms since the start),
 * `mw_wait_loaded CLI SECONDS`, `mw_wait_synced CLI SECONDS`, `mw_wait_synced_at ADDR CLI SECONDS`, `mw_has_vip` and `mw_wait_vip SECONDS`.
 */
export function redisPreamble(r: ResolvedRedisHa): string {
    const vip = `${r.vip.address}/`;
    return sh`${raw(readSecretFromStdin("MW_PASSWORD"))}
case $MW_PASSWORD in *'"'*|*'\\'*) echo 'middleware: the password must not contain double quotes or backslashes' >&2; exit 2;; esac
mw_port=${r.port}
mw_t0=$(date +%s%N)
mw_mark() { echo "middleware: $(( ($(date +%s%N) - mw_t0) / 1000000 )) ms: $1"; }
mw_rcli_at() {
    mw_at=$1; mw_cli=$2; shift 2
    mw_out=$( { printf 'AUTH "%s"\\n' "$MW_PASSWORD"; printf '%s\\n' "$*"; } | "$mw_cli" -h "$mw_at" -p "$mw_port" 2>&1 | tr -d '\\r' ) || :
    case $mw_out in
        OK*) printf '%s\\n' "$mw_out" | sed 1d ;;
        *) printf 'middleware: redis at %s:%s did not accept the password or is down: %s\\n' "$mw_at" "$mw_port" "$(printf '%s' "$mw_out" | head -n 1)" >&2; return 1 ;;
    esac
}
mw_rcli() { mw_rcli_at 127.0.0.1 "$@"; }
# Runs a command on the redis at ADDR that must answer OK (REPLICAOF, CLIENT PAUSE, ...).
mw_ok_at() {
    mw_reply=$(mw_rcli_at "$@") || return 1
    case $mw_reply in OK*) ;; *) printf 'middleware: redis at %s answered %s to %s\\n' "$1" "$mw_reply" "$3" >&2; return 1;; esac
}
# The role (master/slave) of the redis at ADDR, or nothing when it is down.
mw_role_at() { mw_rcli_at "$1" "$2" ROLE 2>/dev/null | head -n 1; }
mw_run_id_at() { mw_info_field run_id "$(mw_rcli_at "$1" "$2" INFO server 2>/dev/null)"; }
# Waits until the replica at REPLICA has every write of the master at MASTER (offsets equal).
# Used while the master's writes are paused, so the offset stands still.
mw_wait_caught_up() {
    mw_i=0
    while :; do
        mw_mo=$(mw_info_field master_repl_offset "$(mw_rcli_at "$1" "$3" INFO replication)") || return 1
        mw_ro=$(mw_info_field slave_repl_offset "$(mw_rcli_at "$2" "$3" INFO replication)") || return 1
        [ -z "$mw_mo" ] || [ "$mw_mo" != "$mw_ro" ] || break
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le $(($4 * 50)) ] || { echo "middleware: the replica at $2 did not catch up with $1 within $4 s (offsets $mw_ro of $mw_mo)" >&2; return 1; }
        sleep 0.02
    done
}
mw_expect() {
    mw_want=$1; shift
    mw_got=$(mw_rcli "$@") || return 1
    [ "$mw_got" = "$mw_want" ] || { printf 'middleware: %s answered %s, expected %s\\n' "$2" "$mw_got" "$mw_want" >&2; return 1; }
}
mw_digest() {
    mw_keyspace=$(mw_rcli "$1" INFO keyspace) || return 1
    mw_sum=$(mw_rcli "$1" DEBUG DIGEST) || return 1
    case $mw_sum in
        ''|*[!0-9a-f]*) printf 'middleware: DEBUG DIGEST failed (%s); set enable-debug-command local\\n' "$mw_sum" >&2; return 1 ;;
    esac
    printf '%s digest=%s\\n' "$(printf '%s\\n' "$mw_keyspace" | sed -n 's/^\\(db[0-9]*:keys=[0-9]*,expires=[0-9]*\\).*/\\1/p' | tr '\\n' ' ')" "$mw_sum"
}
mw_keyspace() {
    mw_ks_raw=$(mw_rcli "$1" INFO keyspace) || return 1
    printf '%s\\n' "$mw_ks_raw" | sed -n 's/^\\(db[0-9]*\\):keys=\\([0-9]*\\),expires=\\([0-9]*\\).*/\\1 \\2 \\3/p'
}
# Keys may expire between the save and the load, never appear: every db has at most the keys
# it had, and at least those without a TTL; give or take CHANGES, the writes since the load
# (rdb_changes_since_last_save), when clients can already reach the server.
mw_same_keyspace() {
    printf '%s\\n%s\\n' "$1" "$2" | awk -v slack="\${3:-0}" '
        NR == 1 { n = split($0, a, ";"); for (i = 1; i <= n; i++) { split(a[i], f, " "); if (f[1] != "") { keys[f[1]] = f[2]; ttl[f[1]] = f[3] } } }
        NR == 2 { n = split($0, a, ";"); for (i = 1; i <= n; i++) { split(a[i], f, " "); if (f[1] != "") got[f[1]] = f[2] } }
        END { for (db in keys) if (got[db] + 0 > keys[db] + slack || got[db] + 0 < keys[db] - ttl[db] - slack) exit 1
              for (db in got) if (!(db in keys) && got[db] + 0 > slack) exit 1 }'
}
# A private instance of the redis-server binary $1 on a unix socket in the directory $2 (its
# dump.rdb there), with more options after; mw_private_stop DIR stops it and removes DIR.
mw_private_start() {
    mw_ps_server=$1; mw_ps_dir=$2; shift 2
    "$mw_ps_server" --port 0 --unixsocket "$mw_ps_dir/sock" --dir "$mw_ps_dir" --dbfilename dump.rdb --save '' --appendonly no \\
        --daemonize yes --pidfile "$mw_ps_dir/pid" --logfile "$mw_ps_dir/log" "$@"
}
mw_private_stop() {
    kill "$(cat "$1/pid" 2>/dev/null)" 2>/dev/null || :
    while [ -e "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; do sleep 0.05; done
    rm -rf "$1"
}
# The digest of an RDB file as the redis-server binary $1 loads it, from a private instance.
# It loads as a replica, so keys whose TTL ran out are kept and the digest does not depend on
# the time it is taken.
mw_offline_digest() {
    mw_od=$(mktemp -d /tmp/mw-digest.XXXXXX)
    ln "$2" "$mw_od/dump.rdb" 2>/dev/null || cp -p "$2" "$mw_od/dump.rdb"
    mw_dbg=''
    if "$1" --version | grep -q 'v=[1-9][0-9]*\\.' && ! "$1" --version | grep -q 'v=[1-6]\\.'; then mw_dbg='--enable-debug-command local'; fi
    # shellcheck disable=SC2086
    mw_private_start "$1" "$mw_od" --replicaof 127.0.0.1 9 $mw_dbg || { rm -rf "$mw_od"; return 1; }
    mw_ocli="$(dirname "$1")/redis-cli"
    mw_i=0
    until [ "$("$mw_ocli" -s "$mw_od/sock" INFO persistence 2>/dev/null | tr -d '\\r' | sed -n 's/^loading://p')" = 0 ]; do
        mw_i=$((mw_i + 1))
        if [ "$mw_i" -gt 3000 ]; then mw_private_stop "$mw_od"; echo 'middleware: the digest instance did not load' >&2; return 1; fi
        sleep 0.1
    done
    mw_osum=$("$mw_ocli" -s "$mw_od/sock" DEBUG DIGEST | tr -d '\\r')
    mw_okeys=$("$mw_ocli" -s "$mw_od/sock" DBSIZE | tr -d '\\r')
    mw_private_stop "$mw_od"
    case $mw_osum in ''|*[!0-9a-f]*) echo "middleware: DEBUG DIGEST failed: $mw_osum" >&2; return 1;; esac
    printf 'keys=%s digest=%s\\n' "$mw_okeys" "$mw_osum"
}
# The RDB format version the redis-server binary $1 writes (and so the newest it reads): the
# header of what an empty private instance saves.
mw_rdb_version() {
    mw_rv=$(mktemp -d /tmp/mw-rdb-version.XXXXXX)
    mw_private_start "$1" "$mw_rv" || { rm -rf "$mw_rv"; return 1; }
    mw_i=0
    until [ "$("$(dirname "$1")/redis-cli" -s "$mw_rv/sock" SAVE 2>/dev/null | tr -d '\\r')" = OK ]; do
        mw_i=$((mw_i + 1))
        if [ "$mw_i" -gt 200 ]; then mw_private_stop "$mw_rv"; echo "middleware: $1 did not start" >&2; return 1; fi
        sleep 0.05
    done
    mw_rdbv=$(head -c 9 "$mw_rv/dump.rdb" | sed -n 's/^REDIS0*\\([0-9][0-9]*\\)$/\\1/p')
    mw_private_stop "$mw_rv"
    [ -n "$mw_rdbv" ] || { echo "middleware: could not tell the RDB format $1 writes" >&2; return 1; }
    printf '%s\\n' "$mw_rdbv"
}
# The version the redis-server binary $1 reports.
mw_version_of() { "$1" --version | sed -n 's/.* v=\\([^ ]*\\) .*/\\1/p'; }
mw_info_field() {
    printf '%s\\n' "$2" | sed -n "s/^$1:\\(.*\\)$/\\1/p"
}
mw_wait_loaded() {
    mw_i=0
    while :; do
        mw_info=$(mw_rcli "$1" INFO persistence 2>/dev/null) && [ "$(mw_info_field loading "$mw_info")" = 0 ] && break
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le $(($2 * 10)) ] || { echo "middleware: redis did not finish loading within $2 s" >&2; return 1; }
        sleep 0.1
    done
}
mw_wait_synced_at() {
    mw_i=0
    while :; do
        mw_info=$(mw_rcli_at "$1" "$2" INFO replication 2>/dev/null) &&
            [ "$(mw_info_field master_link_status "$mw_info")" = up ] &&
            [ "$(mw_info_field master_sync_in_progress "$mw_info")" = 0 ] && break
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le $(($3 * 10)) ] || { echo "middleware: the replica at $1 did not sync with its master within $3 s" >&2; return 1; }
        sleep 0.1
    done
}
mw_wait_synced() { mw_wait_synced_at 127.0.0.1 "$@"; }
mw_has_vip() {
    ip -4 -o addr show dev ${r.vip.interface} 2>/dev/null | grep -q -F ${` ${vip}`}
}
mw_wait_vip() {
    mw_i=0
    until mw_has_vip; do
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le $(($1 * 20)) ] || { echo ${`middleware: the VIP ${r.vip.address} did not come up on this host within`} "$1 s" >&2; return 1; }
        sleep 0.05
    done
}
`;
}
