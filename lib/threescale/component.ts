/**
 * `ThreescaleRestore`: the runbook's restore of a 3scale installation's Redis databases and
 * zync's database on Kubernetes: ConfigMap changes, rollouts and scaling as `@pulumi/kubernetes`
 * Patch resources, in-pod work as local steps that drive the cluster with kubectl; `destroy`
 * takes it back (ConfigMap text, replica counts and pre-restore data).
 *
 * @module
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describePlan } from "../core/plan";
import { resolveThreescaleRestore, ThreescaleRestoreArgs } from "./args";
import { planThreescaleRestore, ThreescalePlan } from "./plan";
import { materializeRestore } from "./materialize";

/** Type token of {@link ThreescaleRestore}; stable forever. */
export const THREESCALE_RESTORE_TYPE = "middleware:threescale:ThreescaleRestore";

/** A restore of 3scale's Redis and zync databases from backups, on its Kubernetes cluster. */
export class ThreescaleRestore extends pulumi.ComponentResource {
    /** The steps, for the approval report (`describePlan`). */
    readonly plan: ThreescalePlan;

    /**
     * The plan for `args`, without creating anything.
     *
     * @throws ConfigError naming every invalid argument
     */
    static planOf(name: string, args: ThreescaleRestoreArgs): ThreescalePlan {
        return planThreescaleRestore(name, resolveThreescaleRestore(name, args));
    }

    /**
     * @param name - the component's name; prefixes every step (`${name}-${cluster}-${step}`)
     * @param args - what to restore; validated before anything is created
     * @param opts - component options
     */
    constructor(name: string, args: ThreescaleRestoreArgs, opts?: pulumi.ComponentResourceOptions) {
        const resolved = resolveThreescaleRestore(name, args);
        super(THREESCALE_RESTORE_TYPE, name, {}, opts);
        this.plan = planThreescaleRestore(name, resolved);
        const pathDirs = [
            ...(path.isAbsolute(resolved.kubectl) ? [path.dirname(resolved.kubectl)] : []),
            path.dirname(process.execPath),
            process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        ];
        materializeRestore(this.plan, {
            name: resolved.cluster,
            environment: { KUBECONFIG: resolved.kubeconfig, PATH: pathDirs.join(path.delimiter) },
            stateDir: resolved.stateDir,
        }, { kubeconfig: resolved.kubeconfig, namespace: resolved.namespace, rolloutTimeoutSeconds: resolved.rolloutTimeoutSeconds }, this);
        pulumi.log.info(describePlan(this.plan), this);
        this.registerOutputs({});
    }
}
