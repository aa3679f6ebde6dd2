/**
 * The rules of the policy pack, as pure functions over the resources of a stack as the policy
 * engine shows them (with `@pulumi/policy`'s proxies removed). Each returns its violations.
 *
 * @module
 */
import { ChangePlan, CHANGE_PLAN_OUTPUT, parseChangePlan } from "../lib/approval/change-plan";

/** A resource as the rules see it. */
export interface SiteResource {
    readonly type: string;
    readonly name: string;
    /** Inputs and outputs; unknown values (in a preview) are {@link Unknown}. */
    readonly props: Record<string, unknown>;
    readonly protect: boolean;
    readonly additionalSecretOutputs: readonly string[];
}

/** A value the preview cannot know yet. */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

/** The type of every step. */
export const STEP_TYPE = "command:remote:Command";
const STACK_TYPE = "pulumi:pulumi:Stack";
const RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";

const steps = (resources: readonly SiteResource[]) => resources.filter((r) => r.type === STEP_TYPE);
const known = (v: unknown): v is string => typeof v === "string";

/** The site's change plan, from the stack's outputs (empty for a program that exports none). */
export function changePlanOf(resources: readonly SiteResource[]): ChangePlan {
    return parseChangePlan(resources.find((r) => r.type === STACK_TYPE)?.props[CHANGE_PLAN_OUTPUT]);
}

/** Every step connects with the host's key pinned, and through a jump host only with its key pinned. */
export function hostKeysPinned(resources: readonly SiteResource[]): string[] {
    const out: string[] = [];
    for (const s of steps(resources)) {
        const c = s.props.connection;
        if (c === UNKNOWN) continue;
        const conn = (c ?? {}) as Record<string, unknown>;
        if (!known(conn.hostKey) || conn.hostKey.trim() === "") out.push(`step ${s.name} connects to ${String(conn.host)} without a pinned host key (connection.hostKey)`);
        const proxy = conn.proxy as Record<string, unknown> | undefined;
        if (proxy && proxy !== (UNKNOWN as unknown) && (!known(proxy.hostKey) || proxy.hostKey.trim() === "")) {
            out.push(`step ${s.name} goes through jump host ${String(proxy.host)} without its host key pinned (connection.proxy.hostKey)`);
        }
    }
    return out;
}

/**
 * At most one topology switching in one update: the steps clients notice (those with a `notice`
 * in the change plan) that are still to run, in at most one component. A step still to run has
 * no recorded `stdout` yet; the engine knows only in a preview, so this rule is decided there
 * (`npm run approve`, `pulumi preview`).
 */
export function oneTopologySwitching(resources: readonly SiteResource[]): string[] {
    const pending = new Set(steps(resources).filter((s) => !known(s.props.stdout)).map((s) => s.name));
    const switching = Object.entries(changePlanOf(resources))
        .map(([name, c]) => ({ name, noticed: c.steps.filter((r) => r.notice && r.kind === "change" && pending.has(r.resource)).map((r) => r.id) }))
        .filter((c) => c.noticed.length > 0);
    if (switching.length <= 1) return [];
    return [`${switching.length} topologies switch in one update (${switching.map((c) => `${c.name}: ${c.noticed.join(", ")}`).join("; ")}); change one topology per update`];
}

/**
 * A finalized topology is never deleted: a topology with an irreversible step (the legacy
 * backups removed) has every step protected, so that `destroy`, or removing it from the config,
 * fails instead of rolling back what can no longer come back.
 */
export function finalizedProtected(resources: readonly SiteResource[]): string[] {
    const byName = new Map(steps(resources).map((s) => [s.name, s]));
    const out: string[] = [];
    for (const [name, c] of Object.entries(changePlanOf(resources))) {
        const irreversible = c.steps.filter((r) => r.irreversible).map((r) => r.id);
        if (irreversible.length === 0) continue;
        const open = c.steps.filter((r) => byName.has(r.resource) && !byName.get(r.resource)!.protect).map((r) => r.id);
        if (open.length) out.push(`${name} is finalized (${irreversible.join(", ")} cannot be undone) but steps ${open.join(", ")} are not protected: a destroy would roll it back`);
    }
    return out;
}

/** The secrets of a stack: every line of every step's stdin (the library's only channel for secrets) and every generated password. */
function secretsOf(resources: readonly SiteResource[]): string[] {
    const found = new Set<string>();
    for (const r of resources) {
        if (r.type === STEP_TYPE && known(r.props.stdin)) for (const line of r.props.stdin.split("\n")) if (line.trim()) found.add(line);
        if (r.type === RANDOM_PASSWORD_TYPE && known(r.props.result)) found.add(r.props.result);
    }
    return [...found];
}

/** The strings of a value, deeply (unknowns left out). */
function stringsIn(v: unknown): string[] {
    if (known(v)) return [v];
    if (Array.isArray(v)) return v.flatMap(stringsIn);
    if (v && typeof v === "object") return Object.values(v).flatMap(stringsIn);
    return [];
}

/** Inputs of a step that are stored and shown in clear. */
const CLEAR_INPUTS = ["create", "update", "delete", "environment", "triggers", "interpreter"];

/**
 * No secret in clear in any step input: secrets travel only on a step's stdin, which the state
 * keeps encrypted (`additionalSecretOutputs`), and never appear in its scripts, environment or
 * triggers, nor in another step's.
 */
export function secretsOnStdinOnly(resources: readonly SiteResource[]): string[] {
    const out: string[] = [];
    const secrets = secretsOf(resources);
    for (const s of steps(resources)) {
        if (s.props.stdin !== undefined && s.props.stdin !== "" && !s.additionalSecretOutputs.includes("stdin")) {
            out.push(`step ${s.name} passes stdin without keeping it secret (additionalSecretOutputs must list stdin)`);
        }
        for (const input of CLEAR_INPUTS) {
            const text = stringsIn(s.props[input]).join("\n");
            if (secrets.some((secret) => text.includes(secret))) out.push(`step ${s.name} has a secret in clear in its ${input}`);
        }
    }
    return out;
}
