/**
 * The site program: one stack per site. It reads the site's config and builds its topologies.
 * Removing a topology from the config rolls that topology back; `pulumi destroy` rolls back
 * the whole site.
 *
 * Outputs: one per topology (its endpoint and hosts), and `changePlan`, the steps of every
 * topology for the approval report (`npm run approve`).
 */
import { CHANGE_PLAN_OUTPUT, ChangePlan, componentChangePlan } from "../lib/approval/change-plan";
import { readSite } from "./site-config";
import { siteTopologies } from "./topologies";

const outputs: Record<string, unknown> = {};
const changePlan: ChangePlan = {};
const site = readSite();
for (const topology of siteTopologies(site)) {
    const built = topology.build();
    const instanceName = site.instanceNames.get(topology.key);
    outputs[topology.key] = instanceName === undefined ? built.outputs : { instanceName, ...built.outputs };
    changePlan[built.plan.component] = componentChangePlan(`middleware:${topology.key}`, topology.type, built.plan);
}
outputs[CHANGE_PLAN_OUTPUT] = JSON.stringify(changePlan);

export = outputs;
