/**
 * The change plan a site stack exports (its `changePlan` output): per component, the steps the
 * program carries out, in order, as plain data. The approval report reads it from the preview
 * (what `up` will do) and from the stack's last outputs (what `destroy` or a removed topology
 * will undo).
 *
 * @module
 */
import { Plan, planRows, PlanRow } from "../core/plan";

/**
 * The name of the stack output that holds the {@link ChangePlan}, as one JSON string (so that
 * `pulumi up` prints it on one line).
 */
export const CHANGE_PLAN_OUTPUT = "changePlan";

/** One component of a site in the change plan. */
export interface ComponentChangePlan {
    /** The site config key the component comes from, e.g. `middleware:redis`. */
    readonly configKey: string;
    /** The component's type token, e.g. `middleware:redis:RedisHa`. */
    readonly type: string;
    /** The component's steps in an order the engine may run them. */
    readonly steps: readonly PlanRow[];
}

/** A site's change plan, by component name. */
export type ChangePlan = Record<string, ComponentChangePlan>;

/** The change-plan entry of one component's plan. */
export function componentChangePlan(configKey: string, type: string, plan: Plan): ComponentChangePlan {
    return { configKey, type, steps: planRows(plan) };
}

/** The change plan in a stack output's value (a JSON string); empty when there is none. */
export function parseChangePlan(value: unknown): ChangePlan {
    if (typeof value !== "string") return {};
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as ChangePlan) : {};
}
