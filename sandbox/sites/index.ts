import { legacyKafka } from "./legacy-kafka";
import { legacyFastdfs } from "./legacy-fastdfs";
import { legacyPostgres } from "./legacy-postgres";
import { legacyRedis } from "./legacy-redis";
import { Site } from "./site";
import { threescale } from "./threescale";

/** The sites `up --site NAME` can lay out. */
export const SITES: readonly Site[] = [legacyRedis, legacyPostgres, legacyKafka, legacyFastdfs, threescale];

/** The site called `name`; throws listing the known ones otherwise. */
export function siteByName(name: string): Site {
    const site = SITES.find((x) => x.name === name);
    if (!site) throw new Error(`unknown site ${JSON.stringify(name)}; known sites: ${SITES.map((x) => x.name).join(", ")}`);
    return site;
}
