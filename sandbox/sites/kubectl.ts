import * as path from "path";
import { run, RunOptions, RunResult } from "../run";
import { kubernetesBinDir } from "./kubernetes-build";

/** The cluster's kubectl with a given kubeconfig, from the machine running Pulumi. */
export class Kubectl {
    constructor(
        /** The kubeconfig file. */
        readonly kubeconfig: string,
        /** Namespace of every command. */
        readonly namespace: string,
    ) {}

    /** Runs kubectl; never throws on a non-zero exit. */
    run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
        return run(path.join(kubernetesBinDir(), "kubectl"), ["--kubeconfig", this.kubeconfig, "-n", this.namespace, ...args], opts);
    }

    /** Runs kubectl and returns its stdout; throws with its stderr on failure. */
    async must(args: readonly string[], opts: RunOptions = {}): Promise<string> {
        const r = await this.run(args, opts);
        if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
        return r.stdout;
    }

    /**
     * The name of a ready pod of Deployment `deployment` that is not being deleted (right after a
     * rollout the old pod can still be listed).
     */
    async readyPod(deployment: string): Promise<string> {
        const list = JSON.parse(await this.must(["get", "pods", "-l", `deployment=${deployment}`, "-o", "json"])) as {
            items: { metadata: { name: string; deletionTimestamp?: string }; status: { conditions?: { type: string; status: string }[] } }[];
        };
        const pod = list.items.find((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
        if (!pod) throw new Error(`${deployment}: no ready pod in namespace ${this.namespace}`);
        return pod.metadata.name;
    }

    /** `sh -c cmd` in a ready pod of `deployment`; throws on failure. */
    async exec(deployment: string, cmd: string, opts: RunOptions = {}): Promise<string> {
        const pod = await this.readyPod(deployment);
        return this.must(["exec", ...(opts.input !== undefined ? ["-i"] : []), pod, "--", "sh", "-c", cmd], opts);
    }
}
