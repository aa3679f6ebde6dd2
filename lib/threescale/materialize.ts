/**
 * Turns a restore's plan into resources: its local steps ({@link LocalStep}, kubectl on the
 * machine running Pulumi) and, after each step, its cluster changes as `@pulumi/kubernetes`
 * Patch resources (server-side apply, forced over the fields' earlier owners) through one
 * provider for the cluster. A Patch waits for what it changes: a Deployment's rollout until it is
 * ready, within the rollout time limit. Every Patch is kept on `destroy`: the local step before it
 * puts back what it replaced (see `cluster-changes.ts`).
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { LocalStep } from "../core/local-step";
import { LocalTarget, materializeLocal } from "../core/materialize-local";
import { ClusterChange, emittedValue, ROLLOUT_ANNOTATION } from "./cluster-changes";
import type { ThreescalePlan } from "./plan";

/** Where the cluster changes go. */
export interface ClusterTarget {
    /** The kubeconfig file. */
    readonly kubeconfig: string;
    readonly namespace: string;
    /** How long a Patch waits for its Deployment. */
    readonly rolloutTimeoutSeconds: number;
}

/**
 * The annotation that lets a Patch take fields another manager owns: `kubectl apply`'s, the
 * Deployment's creator's, an earlier phase's Patch.
 */
const FORCE = { "pulumi.com/patchForce": "true" };

/**
 * Creates the steps and cluster changes of `plan` as children of `parent`, named
 * `${component}-${target}-${id}`. Each waits on what came before it in the plan.
 *
 * @throws ConfigError when a step's id is not a name or it names another target
 */
export function materializeRestore(plan: ThreescalePlan, local: LocalTarget, cluster: ClusterTarget, parent: pulumi.Resource): void {
    const provider = new k8s.Provider(`${plan.component}-${local.name}`, {
        kubeconfig: cluster.kubeconfig,
        namespace: cluster.namespace,
        enableServerSideApply: true,
    }, { parent });
    const steps = new Map<string, LocalStep>();
    const name = (id: string) => `${plan.component}-${local.name}-${id}`;
    const stdoutOf = (id: string) => {
        const s = steps.get(id);
        if (!s) throw new Error(`${plan.component}: a cluster change reads step ${id}, which does not come before it`);
        return s.stdout;
    };
    const create = (c: ClusterChange, dependsOn: pulumi.Resource[]): pulumi.Resource => {
        const opts: pulumi.CustomResourceOptions = {
            parent, provider, dependsOn, retainOnDelete: true,
            customTimeouts: { create: `${cluster.rolloutTimeoutSeconds}s`, update: `${cluster.rolloutTimeoutSeconds}s` },
        };
        const metadata = { name: c.kind === "config" ? c.configMap : c.deployment, namespace: cluster.namespace, annotations: FORCE };
        switch (c.kind) {
            case "config":
                // The text comes from a secret stdout; the object's data the provider reads back is kept secret too.
                return new k8s.core.v1.ConfigMapPatch(name(c.id), {
                    metadata,
                    data: { [c.key]: stdoutOf(c.text.step).apply((out) => emittedValue(out, c.text)) },
                }, { ...opts, additionalSecretOutputs: ["data"] });
            case "rollout":
                return new k8s.apps.v1.DeploymentPatch(name(c.id), {
                    metadata,
                    spec: { template: { metadata: { annotations: { [ROLLOUT_ANNOTATION]: stdoutOf(c.at.step).apply((out) => `${c.phase} ${emittedValue(out, c.at)}`) } } } },
                }, opts);
            case "scale": {
                const kept = c.replicas;
                const replicas = typeof kept === "number" ? pulumi.output(kept) : stdoutOf(kept.step).apply((out) => Number(emittedValue(out, kept)));
                return new k8s.apps.v1.DeploymentPatch(name(c.id), { metadata, spec: { replicas } }, opts);
            }
        }
    };
    materializeLocal(plan, local, parent, {
        // What a step tells the program includes the ConfigMap's text, which may hold a password.
        secretStdout: new Set(plan.waves.flatMap((w) => w.changes.flatMap((c) => (c.kind === "config" ? [c.text.step] : [])))),
        then: (id, step) => {
            steps.set(id, step);
            let last: pulumi.Resource[] = [step];
            for (const wave of plan.waves.filter((w) => w.after === id)) last = wave.changes.map((c) => create(c, last));
            return last;
        },
    });
}
