/**
 * The shell functions every step of the restore starts with: kubectl against the cluster's
 * namespace, bounded rollouts, a ConfigMap key read and written as exact text, commands in a
 * Deployment's pod, values told to the program (the step's stdout), and waits. `node` (there
 * wherever a Pulumi TypeScript program runs) turns text into JSON for `kubectl patch`.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import { waitFunction } from "../core/shell-wait";
import type { ResolvedThreescaleRestore } from "./args";

/** Seconds between two polls of a wait. */
const POLL_SECONDS = 1;

/** The prelude of every step's body for `r`. */
export function kubectlPrelude(r: ResolvedThreescaleRestore): string {
    const t = r.rolloutTimeoutSeconds;
    return sh`MW_KUBECTL=${r.kubectl}
MW_NS=${r.namespace}
MW_ROLLOUT_TIMEOUT=${String(t)}
k() { "$MW_KUBECTL" --request-timeout=60s -n "$MW_NS" "$@"; }
# Waits for Deployments to be rolled out and ready, each within the rollout time limit.
mw_wait_ready() {
    for mw_d in "$@"; do
        if ! k rollout status "deployment/$mw_d" --timeout="\${MW_ROLLOUT_TIMEOUT}s" >/dev/null; then
            printf 'middleware: deployment %s in namespace %s did not become ready within %s s\\n' "$mw_d" "$MW_NS" "$MW_ROLLOUT_TIMEOUT" >&2
            return 1
        fi
    done
}
# Rolls Deployments out (new pods) and waits for them.
mw_rollout() {
    for mw_d in "$@"; do k rollout restart "deployment/$mw_d" >/dev/null; done
    mw_wait_ready "$@"
}
# Writes the exact text of key $2 of ConfigMap $1 to file $3.
mw_cm_get() {
    k get configmap "$1" -o json >"$3.json"
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data || {};
if (!(process.argv[2] in d)) { console.error("middleware: configmap has no key " + process.argv[2]); process.exit(3); }
process.stdout.write(d[process.argv[2]]);' "$3.json" "$2" >"$3.part"
    rm -f "$3.json"
    mv "$3.part" "$3"
}
# Sets key $2 of ConfigMap $1 to the exact text of file $3 (the other keys stay as they are).
# The patch goes through a file: the text (a password, maybe) never reaches kubectl's argv.
mw_cm_put() {
    node -e 'process.stdout.write(JSON.stringify({ data: { [process.argv[2]]: require("fs").readFileSync(process.argv[1], "utf8") } }))' "$3" "$2" >"$3.patch.json"
    k patch configmap "$1" --type merge --patch-file "$3.patch.json" >/dev/null
    rm -f "$3.patch.json"
}
# Tells the program a value the step learnt (its stdout, read by emittedValue): key $1, value $2.
mw_emit() { printf '%s=%s\\n' "$1" "$2"; }
# The same for the exact text of file $2, base64-encoded.
mw_emit_file() { printf '%s=base64:%s\\n' "$1" "$(base64 -w0 <"$2")"; }
# Removes the annotation the restore's Patches force their fields with from objects of kind $1.
mw_unforce() {
    mw_kind=$1; shift
    for mw_o in "$@"; do k annotate "$mw_kind" "$mw_o" pulumi.com/patchForce- >/dev/null; done
}
# Runs sh script $2 (arguments after it) in the pod of Deployment $1.
mw_in_pod() {
    mw_d=$1; mw_s=$2; shift 2
    k exec -i "deployment/$mw_d" -- sh -c "$mw_s" sh "$@"
}
# Waits until Deployment $1 has no pod left (terminating ones included).
mw_no_pods() { [ -z "$(k get pods -l "$1" -o name)" ]; }
mw_pods_gone() {
    mw_sel=$(k get deployment "$1" -o go-template='{{range $k, $v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}')
    mw_wait "$MW_ROLLOUT_TIMEOUT" "the pods of deployment $1 gone" mw_no_pods "\${mw_sel%,}"
}
${raw(waitFunction(POLL_SECONDS))}`;
}
