/**
 * The runbook's Redis restore as reversible actions (bodies for the local steps, after
 * {@link kubectlPrelude}) and the cluster changes that follow them: persistence off in the
 * shared ConfigMap, the data files swapped for the backup's, the AOF rewritten, persistence back.
 * What each phase replaces its step keeps in its folder (`$MW_STEP_DIR`), and its inverse puts
 * exactly that back.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import type { Reversible } from "../core/actions/reversible";
import type { ResolvedThreescaleRestore } from "./args";
import type { ClusterWave, Emitted } from "./cluster-changes";

type RedisArgs = NonNullable<ResolvedThreescaleRestore["redis"]>;

/** Step ids of the Redis restore (part of resource names: never change them). */
export const REDIS_STEPS = {
    persistenceOff: "redis-persistence-off",
    swap: (deployment: string) => `${deployment}-swap-data`,
    rewrite: (deployment: string) => `${deployment}-rewrite-aof`,
    persistenceOn: "redis-persistence-on",
    /** The checks after each config phase's rollouts. */
    offLive: "redis-persistence-off-live",
    onLive: "redis-persistence-on-live",
} as const;

/** The files a restore moves aside (`<file>-old`) in Redis's data directory. */
export const REDIS_DATA_FILES = ["dump.rdb", "appendonly.aof"] as const;

/**
 * Shell function `mw_rewrite_aof <deployment>`: `BGREWRITEAOF`, then polls `INFO persistence`
 * until `aof_rewrite_in_progress:0` (and nothing scheduled), within the rollout time limit; fails
 * unless the rewrite's status is ok.
 */
export function rewriteAofFunction(): string {
    return sh`mw_aof_done() {
    mw_info=$(k exec "deployment/$1" -- redis-cli INFO persistence | tr -d '\\r')
    case "$mw_info" in
        *aof_rewrite_in_progress:0*aof_rewrite_scheduled:0*) return 0 ;;
    esac
    return 1
}
mw_rewrite_aof() {
    mw_out=$(k exec "deployment/$1" -- redis-cli BGREWRITEAOF 2>&1) || :
    case "$mw_out" in
        *started*|*scheduled*|*"already in progress"*) ;;
        *) printf 'middleware: BGREWRITEAOF on %s answered: %s\\n' "$1" "$mw_out" >&2; return 1 ;;
    esac
    mw_wait "$MW_ROLLOUT_TIMEOUT" "the AOF rewrite of $1" mw_aof_done "$1"
    case "$mw_info" in
        *aof_last_bgrewrite_status:ok*) ;;
        *) printf 'middleware: the AOF rewrite of %s failed: %s\\n' "$1" "$(printf '%s\\n' "$mw_info" | grep aof_last_bgrewrite_status)" >&2; return 1 ;;
    esac
}
`;
}

/** Rollouts a config phase makes before it gives up on a pod that still runs the old text. */
export const CONFIG_ROLLOUT_ATTEMPTS = 5;

/**
 * Shell functions `mw_config_live <file> <deployment>...`: waits for the Deployments and checks
 * that each Redis runs with the `appendonly` and `save` of config text `<file>` (`CONFIG GET`). A
 * pod created right after the ConfigMap changed can still mount the kubelet's cached old text;
 * it is rolled out again, up to {@link CONFIG_ROLLOUT_ATTEMPTS} rollouts in all.
 * `mw_rollout_config <file> <deployment>...` rolls them out first.
 */
export function rolloutConfigFunction(): string {
    return sh`mw_config_live() {
    mw_f=$1; shift
    mw_ap=$(sed -n 's/^appendonly[[:space:]]\\{1,\\}\\([a-z]*\\).*/\\1/p' "$mw_f" | tail -n 1)
    mw_sv=$(sed -n 's/^save[[:space:]]\\{1,\\}//p' "$mw_f" | tr '\\n' ' ' | sed -e 's/""//g' -e 's/  */ /g' -e 's/^ //' -e 's/ $//')
    mw_has_save=$(grep -c '^save[[:space:]]' "$mw_f" || :)
    mw_pending="$*"
    mw_try=1
    while :; do
        mw_wait_ready $mw_pending
        mw_left=''
        for mw_u in $mw_pending; do
            mw_got_ap=$(k exec "deployment/$mw_u" -- redis-cli CONFIG GET appendonly | tr -d '\\r' | sed -n 2p)
            mw_got_sv=$(k exec "deployment/$mw_u" -- redis-cli CONFIG GET save | tr -d '\\r' | sed -n 2p)
            if [ -n "$mw_ap" ] && [ "$mw_got_ap" != "$mw_ap" ]; then mw_left="$mw_left $mw_u"; continue; fi
            if [ "$mw_has_save" -gt 0 ] && [ "$mw_got_sv" != "$mw_sv" ]; then mw_left="$mw_left $mw_u"; fi
        done
        mw_pending=\${mw_left# }
        if [ -z "$mw_pending" ]; then return 0; fi
        if [ "$mw_try" -ge ${raw(String(CONFIG_ROLLOUT_ATTEMPTS))} ]; then
            printf 'middleware: %s still run(s) without appendonly %s / save "%s" of the ConfigMap after %s rollouts\\n' "$mw_pending" "$mw_ap" "$mw_sv" ${raw(String(CONFIG_ROLLOUT_ATTEMPTS))} >&2
            return 1
        fi
        printf 'middleware: %s started with the old config text; rolling out again\\n' "$mw_pending" >&2
        mw_try=$((mw_try + 1))
        sleep 2
        for mw_d in $mw_pending; do k rollout restart "deployment/$mw_d" >/dev/null; done
    done
}
mw_rollout_config() {
    mw_rf=$1; shift
    for mw_d in "$@"; do k rollout restart "deployment/$mw_d" >/dev/null; done
    mw_config_live "$mw_rf" "$@"
}
`;
}

/** Where the persistence-off step keeps the ConfigMap's text: `before` (as it was) and `off`. */
const OFF_DIR = raw(`"$MW_STATE_DIR/steps/$MW_COMPONENT/${REDIS_STEPS.persistenceOff}"`);

/**
 * Phase 1, its local step: keeps the ConfigMap's text (once: a resumed run keeps the first) and
 * writes the text without persistence next to it: the `save` lines commented out, `save ""`
 * added (commented out alone, Redis falls back to its built-in save points and its shutdown
 * SAVE overwrites the backup copied in next), `appendonly no`. It tells the program both texts
 * (`before`, `off`) and when it ran (`at`); a ConfigMap Patch then sets `off` and Deployment
 * Patches roll the Redis out ({@link persistenceChanges}). Its inverse rewrites the AOF of the
 * Redis that are not restored (they took writes meanwhile, which only their RDB holds), puts the
 * kept text back, removes the Patches' `pulumi.com/patchForce` annotation and rolls every Redis
 * of the ConfigMap out.
 */
export function persistenceOff(r: RedisArgs): Reversible {
    const users = r.configUsers;
    const keptAsIs = users.filter((u) => !r.restore.some((x) => x.deployment === u));
    return {
        forward: sh`mkdir -p "$MW_STEP_DIR"
if [ ! -f "$MW_STEP_DIR/before" ]; then mw_cm_get ${r.configMap} ${r.configKey} "$MW_STEP_DIR/before"; fi
sed -e 's/^save[[:space:]]/# &/' -e 's/^appendonly[[:space:]].*/appendonly no/' "$MW_STEP_DIR/before" >"$MW_STEP_DIR/off"
if [ -s "$MW_STEP_DIR/off" ] && [ -n "$(tail -c 1 "$MW_STEP_DIR/off")" ]; then echo >>"$MW_STEP_DIR/off"; fi
if ! grep -q '^appendonly no$' "$MW_STEP_DIR/off"; then echo 'appendonly no' >>"$MW_STEP_DIR/off"; fi
echo 'save ""' >>"$MW_STEP_DIR/off"
mw_emit at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
mw_emit_file before "$MW_STEP_DIR/before"
mw_emit_file off "$MW_STEP_DIR/off"
`,
        inverse: sh`if [ -f "$MW_STEP_DIR/before" ]; then
    for mw_u in ${keptAsIs}; do mw_wait_ready "$mw_u"; mw_rewrite_aof "$mw_u"; done
    mw_cm_put ${r.configMap} ${r.configKey} "$MW_STEP_DIR/before"
    mw_unforce configmap ${r.configMap}
    mw_unforce deployment ${users}
    mw_rollout_config "$MW_STEP_DIR/before" ${users}
    rm -rf "$MW_STEP_DIR"
fi
`,
    };
}

/**
 * A config phase's changes through `@pulumi/kubernetes`: the ConfigMap's key set to the text
 * step `textStep` emitted as `textKey`, then every Redis of the ConfigMap rolled out.
 */
export function persistenceChanges(r: RedisArgs, phase: string, text: Emitted, at: Emitted): ClusterWave[] {
    return [
        { after: at.step, changes: [{ kind: "config", id: `${phase}-${r.configMap}`, configMap: r.configMap, key: r.configKey, text }] },
        { after: at.step, changes: r.configUsers.map((d) => ({ kind: "rollout", id: `${phase}-${d}-rollout`, deployment: d, phase, at }) as const) },
    ];
}

/**
 * A config phase's check, after its rollouts: each Redis runs with the `appendonly` and `save`
 * of the text (`CONFIG GET`); one that mounted the kubelet's cached old text is rolled out again
 * ({@link CONFIG_ROLLOUT_ATTEMPTS}). Nothing to undo.
 */
export function persistenceLive(r: RedisArgs, textFile: "off" | "before"): Reversible {
    return { forward: sh`mw_config_live ${OFF_DIR}/${raw(textFile)} ${r.configUsers}
`, inverse: "" };
}

/**
 * Phase 2, for one Redis: moves `dump.rdb` and `appendonly.aof` aside to `-old` in its pod,
 * copies the backup's `dump.rdb` in (streamed through `kubectl exec`, size checked), rolls it
 * out: it starts from the backup (`appendonly no` loads the RDB). Refuses to start when `-old`
 * files are there from something else. The inverse puts the old files back (removing what the
 * restore wrote) and rolls it out.
 */
export function swapData(r: RedisArgs, deployment: string, backup: string): Reversible {
    const files = [...REDIS_DATA_FILES];
    return {
        forward: sh`mw_wait_ready ${deployment}
mkdir -p "$MW_STEP_DIR"
if [ ! -f "$MW_STEP_DIR/moved" ]; then
    if [ ! -f "$MW_STEP_DIR/moving" ]; then
        mw_in_pod ${deployment} 'cd "$1"; shift; for f in "$@"; do if [ -e "$f-old" ]; then echo "$f-old"; fi; done' ${r.dataDir} ${files} </dev/null >"$MW_STEP_DIR/stale"
        if [ -s "$MW_STEP_DIR/stale" ]; then
            printf 'middleware: %s already has %s in %s (an earlier restore?); move it away first\\n' ${deployment} "$(tr '\\n' ' ' <"$MW_STEP_DIR/stale")" ${r.dataDir} >&2
            exit 1
        fi
        : >"$MW_STEP_DIR/moving"
    fi
    mw_in_pod ${deployment} 'cd "$1"; shift; for f in "$@"; do if [ -e "$f" ] && [ ! -e "$f-old" ]; then mv "$f" "$f-old"; fi; if [ -e "$f-old" ]; then echo "$f"; fi; done' ${r.dataDir} ${files} </dev/null >"$MW_STEP_DIR/moved.part"
    mv "$MW_STEP_DIR/moved.part" "$MW_STEP_DIR/moved"
fi
mw_in_pod ${deployment} 'cat >"$1/dump.rdb.part" && mv "$1/dump.rdb.part" "$1/dump.rdb" && wc -c <"$1/dump.rdb"' ${r.dataDir} <${backup} >"$MW_STEP_DIR/copied"
if [ "$(tr -d ' \\n' <"$MW_STEP_DIR/copied")" != "$(wc -c <${backup} | tr -d ' ')" ]; then
    printf 'middleware: the copy of %s in %s has %s bytes, not %s\\n' ${backup} ${deployment} "$(cat "$MW_STEP_DIR/copied")" "$(wc -c <${backup})" >&2
    exit 1
fi
mw_rollout ${deployment}
`,
        inverse: sh`if [ -f "$MW_STEP_DIR/moving" ] || [ -f "$MW_STEP_DIR/moved" ]; then
    mw_wait_ready ${deployment}
    if [ -f "$MW_STEP_DIR/moved" ]; then mw_known=1; mw_list=$(tr '\\n' ' ' <"$MW_STEP_DIR/moved"); else mw_known=0; mw_list=''; fi
    mw_in_pod ${deployment} 'cd "$1"; known=$2; list=" $3 "; shift 3; rm -f dump.rdb.part
for f in "$@"; do
    if [ -e "$f-old" ]; then rm -f "$f"; mv "$f-old" "$f"
    elif [ "$known" = 1 ]; then case "$list" in *" $f "*) ;; *) rm -f "$f" ;; esac
    fi
done' ${r.dataDir} "$mw_known" "$mw_list" ${files} </dev/null
    mw_rollout ${deployment}
    rm -rf "$MW_STEP_DIR"
fi
`,
    };
}

/** Phase 3, for one Redis: `BGREWRITEAOF` and wait; the AOF then holds the backup's data. Nothing to undo: the swap's inverse puts the old AOF back. */
export function rewriteAof(deployment: string): Reversible {
    return {
        forward: sh`mw_wait_ready ${deployment}
mw_rewrite_aof ${deployment}
`,
        inverse: `: nothing to undo, the inverse of the data swap puts the old appendonly.aof back`,
    };
}

/**
 * Phase 4, its local step: checks that the text from before the restore is still kept, keeps
 * the text it will replace (persistence off) and tells when it ran; a ConfigMap Patch then puts
 * the text from before back (the `save` lines and `appendonly yes`) and Deployment Patches roll
 * the Redis out: they load the rewritten AOF. Its inverse puts persistence off again, as phase 1
 * left it, and rolls them out.
 */
export function persistenceOn(r: RedisArgs): Reversible {
    return {
        forward: sh`if [ ! -f ${OFF_DIR}/before ]; then
    printf 'middleware: %s/before, the ConfigMap text from before the restore, is gone\\n' ${OFF_DIR} >&2
    exit 1
fi
mkdir -p "$MW_STEP_DIR"
if [ ! -f "$MW_STEP_DIR/before" ]; then mw_cm_get ${r.configMap} ${r.configKey} "$MW_STEP_DIR/before"; fi
mw_emit at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
`,
        inverse: sh`if [ -f "$MW_STEP_DIR/before" ]; then
    mw_cm_put ${r.configMap} ${r.configKey} "$MW_STEP_DIR/before"
    mw_rollout_config "$MW_STEP_DIR/before" ${r.configUsers}
    rm -rf "$MW_STEP_DIR"
fi
`,
    };
}
