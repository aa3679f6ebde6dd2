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
 * `mw_digest CLI` (keys per db and DEBUG DIGEST on one line),
 * `mw_wait_loaded CLI SECONDS`, `mw_wait_synced CLI SECONDS`, `mw_has_vip` and `mw_wait_vip SECONDS`.
 */
export function redisPreamble(r: ResolvedRedisHa): string {
    const vip = `${r.vip.address}/`;
    return sh`${raw(readSecretFromStdin("MW_PASSWORD"))}
case $MW_PASSWORD in *'"'*|*'\\'*) echo 'middleware: the password must not contain double quotes or backslashes' >&2; exit 2;; esac
mw_port=${r.port}
mw_rcli() {
    mw_cli=$1; shift
    mw_out=$( { printf 'AUTH "%s"\\n' "$MW_PASSWORD"; printf '%s\\n' "$*"; } | "$mw_cli" -h 127.0.0.1 -p "$mw_port" 2>&1 | tr -d '\\r' ) || :
    case $mw_out in
        OK*) printf '%s\\n' "$mw_out" | sed 1d ;;
        *) printf 'middleware: redis on port %s did not accept the password or is down: %s\\n' "$mw_port" "$(printf '%s' "$mw_out" | head -n 1)" >&2; return 1 ;;
    esac
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
mw_wait_synced() {
    mw_i=0
    while :; do
        mw_info=$(mw_rcli "$1" INFO replication 2>/dev/null) &&
            [ "$(mw_info_field master_link_status "$mw_info")" = up ] &&
            [ "$(mw_info_field master_sync_in_progress "$mw_info")" = 0 ] && break
        mw_i=$((mw_i + 1))
        [ "$mw_i" -le $(($2 * 10)) ] || { echo "middleware: the replica did not sync with the master within $2 s" >&2; return 1; }
        sleep 0.1
    done
}
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
