/**
 * The sandbox's 3scale site for the Kubernetes tests, shared by both files so that the suite lays
 * the cluster out once: the site is reused when the sandbox already carries it, and laid out after
 * a `down` otherwise (the suite's other files leave the legacy-redis site behind, whose three
 * hosts the one-host 3scale site cannot reuse).
 */
import { Inventory, setQuiet, up, down } from "../../sandbox";
import { settingsFromEnv } from "../../sandbox/config";
import { readRecord } from "../../sandbox/record";

export const THREESCALE_SITE = "3scale";

/** Whether the sandbox carries the 3scale site now. */
export function threescaleSiteIsUp(): boolean {
    return readRecord(settingsFromEnv())?.site === THREESCALE_SITE;
}

/** The 3scale site, reused or laid out fresh (see above). */
export async function threescaleSiteUp(): Promise<Inventory> {
    setQuiet(true);
    if (!threescaleSiteIsUp()) await down();
    return up({ hosts: 1, site: THREESCALE_SITE });
}
