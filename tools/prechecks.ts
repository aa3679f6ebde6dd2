/**
 * Pre-flight checks of a site stack: the `check` steps of every topology's plan, run over SSH
 * outside the engine (see `renderCheckScript`: no lock, no journal), each with its verdict.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostArgs } from "../lib/core/host";
import { inOrder } from "../lib/core/plan";
import { remoteCommand, renderCheckScript } from "../lib/core/script";
import { readSite } from "../stacks/site-config";
import { siteTopologies } from "../stacks/topologies";
import { selectSite } from "./approval";
import { runOverSsh, SshTarget } from "./ssh";

/** One check's verdict. */
export interface CheckResult {
    readonly component: string;
    readonly step: string;
    readonly host: string;
    readonly summary: string;
    readonly passed: boolean;
    /** What the check printed (stdout, then stderr), or why it could not run. */
    readonly output: string;
}

/** The verdicts, and the topologies that have no check to run. */
export interface PrecheckResults {
    readonly checks: CheckResult[];
    readonly without: string[];
}

/** Time limit of one check. */
const CHECK_TIMEOUT_SECONDS = 120;

/** The value of an input, outside a deployment. */
function valueOf<T>(input: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(input).apply((v) => (resolve(v as T), v)));
}

async function targetOf(h: HostArgs): Promise<SshTarget> {
    return {
        host: h.address,
        port: h.port ?? 22,
        user: h.user ?? "root",
        privateKey: await valueOf(h.privateKey),
        hostKey: h.hostKey,
        proxy: h.proxy && {
            host: h.proxy.address,
            port: h.proxy.port ?? 22,
            user: h.proxy.user ?? "root",
            privateKey: await valueOf(h.proxy.privateKey),
            hostKey: h.proxy.hostKey,
        },
    };
}

/**
 * Reads the stack's config the way the engine hands it to the program, so that the site program's
 * own config reader builds the site: one validation, one source of truth.
 */
async function loadSite(stackName: string) {
    const stack = await selectSite(stackName);
    const config = await stack.getAllConfig();
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.value])),
        Object.entries(config).filter(([, v]) => v.secret).map(([k]) => k),
    );
    return siteTopologies(readSite(new pulumi.Config("middleware"), stackName));
}

/** Runs every check step of the site's plans, in plan order; `onResult` sees each verdict as it comes. */
export async function runPrechecks(stackName: string, onResult: (r: CheckResult) => void = () => undefined): Promise<PrecheckResults> {
    const checks: CheckResult[] = [];
    const without: string[] = [];
    for (const t of await loadSite(stackName)) {
        const plan = t.plan();
        const steps = inOrder(plan).filter((s) => s.kind === "check");
        if (steps.length === 0) without.push(plan.component);
        for (const s of steps) {
            const base = { component: plan.component, step: s.id, host: s.host, summary: s.summary };
            let result: CheckResult;
            try {
                const script = renderCheckScript({ component: plan.component, step: s.id, body: s.action.forward });
                const stdin = s.stdin === undefined ? "" : await valueOf(s.stdin);
                const r = await runOverSsh(await targetOf(t.hosts.get(s.host)!), remoteCommand(script), {
                    stdin,
                    timeoutSeconds: CHECK_TIMEOUT_SECONDS,
                    dialAttempts: 3,
                    dialIntervalSeconds: 2,
                });
                result = { ...base, passed: r.code === 0, output: `${r.stdout}${r.stderr}${r.code === 0 ? "" : `\n(exit code ${r.code})`}` };
            } catch (e) {
                result = { ...base, passed: false, output: `could not run: ${e instanceof Error ? e.message : String(e)}` };
            }
            checks.push(result);
            onResult(result);
        }
    }
    return { checks, without };
}
