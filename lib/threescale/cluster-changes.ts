/**
 * The restore's changes of cluster objects that `@pulumi/kubernetes` makes (server-side apply
 * Patch resources, between the local steps): a ConfigMap's text, a rollout (a pod-template
 * annotation, as `kubectl rollout restart` sets one) and a replica count. What they set that is
 * only known at run time (the ConfigMap's text before the restore, the replica counts, when a
 * phase ran) a local step learns and tells the program on its stdout (`mw_emit`).
 *
 * Their rollback is not theirs: deleting a Patch gives its fields up (they vanish, or fall back
 * to defaults) instead of putting back what was there, so every Patch is kept on `destroy`
 * (`retainOnDelete`) and the local step before it puts back the exact text or count it kept.
 *
 * @module
 */

/** A value a local step told the program: key `key` of step `step`'s stdout. */
export interface Emitted {
    readonly step: string;
    readonly key: string;
}

/** The pod-template annotation whose change rolls a Deployment out. */
export const ROLLOUT_ANNOTATION = "middleware.pulumi.com/restore-phase";

/** One change of a cluster object. Its `id` is part of the resource name: never change it. */
export type ClusterChange =
    /** Key `key` of ConfigMap `configMap` set to the text a step emitted. */
    | { readonly kind: "config"; readonly id: string; readonly configMap: string; readonly key: string; readonly text: Emitted }
    /**
     * Deployment `deployment` rolled out: {@link ROLLOUT_ANNOTATION} set to `<phase> <at>`, `at`
     * being when the phase's step ran (a new restore rolls out again); waits for the rollout.
     */
    | { readonly kind: "rollout"; readonly id: string; readonly deployment: string; readonly phase: string; readonly at: Emitted }
    /** Deployment `deployment` scaled to `replicas`; waits for its pods. */
    | { readonly kind: "scale"; readonly id: string; readonly deployment: string; readonly replicas: number | Emitted };

/** Changes made at once after step `after` (and after the wave before them on the same step). */
export interface ClusterWave {
    readonly after: string;
    readonly changes: readonly ClusterChange[];
}

/**
 * The values a step emitted: `key=value` lines of its stdout, `base64:` values decoded.
 *
 * @throws Error when `key` was not emitted (a step that did not tell what it learnt)
 */
export function emittedValue(stdout: string, e: Emitted): string {
    for (const line of stdout.split("\n").reverse()) {
        const at = line.indexOf("=");
        if (at <= 0 || line.slice(0, at) !== e.key) continue;
        const value = line.slice(at + 1);
        return value.startsWith("base64:") ? Buffer.from(value.slice("base64:".length), "base64").toString("utf8") : value;
    }
    throw new Error(`step ${e.step} did not tell ${e.key} (its stdout has no '${e.key}=' line)`);
}

/** One line for the approval report. */
export function describeChange(c: ClusterChange): string {
    switch (c.kind) {
        case "config":
            return `ConfigMap ${c.configMap}: ${c.key} set to the text of ${c.text.step} (${c.text.key})`;
        case "rollout":
            return `Deployment ${c.deployment}: rolled out (${c.phase})`;
        case "scale":
            return `Deployment ${c.deployment}: ${typeof c.replicas === "number" ? `scaled to ${c.replicas}` : `scaled to the count ${c.replicas.step} kept`}`;
    }
}
