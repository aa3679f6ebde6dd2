/**
 * The runbook's site rules (PROCEDURES.md section 1, pre-checks 4, 6 and 7), checked on the
 * site config before anything is built: node counts per topology, instance names that tell the
 * site's instances apart, one instance per product. Each failure names the key, the value and
 * the rule.
 *
 * @module
 */
import type { Problems } from "../lib/core/validate";

/** The products a site runs, by config key, with the name the runbook's instance names use. */
export const PRODUCTS: Readonly<Record<string, string>> = { redis: "Redis", postgres: "PostgreSQL", kafka: "Kafka", fastdfs: "FastDFS" };

/** How a site names its instances, as written in `middleware:site`. */
export interface SiteNamingConfig {
    /** The customer, e.g. `acme`. */
    readonly customer: string;
    /** The subsystem, e.g. `billing`. */
    readonly subsystem: string;
    /** The data centre of this site's instances: `A` or `B` (the DR pair). */
    readonly side: string;
    /**
     * The pattern of instance names, with `{customer}`, `{subsystem}`, `{Product}` and `{side}`.
     * @default - `{customer}-{subsystem}-{Product}-{side}` (the runbook's `<customer>-<subsystem>-Redis-A`)
     */
    readonly instanceNamePattern?: string;
}

/** The default instance name pattern. */
export const DEFAULT_INSTANCE_NAME_PATTERN = "{customer}-{subsystem}-{Product}-{side}";

const PART = /^[A-Za-z0-9]+$/;
const PLACEHOLDERS = ["{customer}", "{subsystem}", "{Product}", "{side}"];

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The expression an instance name of `product` must match under `pattern`. */
function namePattern(pattern: string, product: string): RegExp {
    const source = escape(pattern)
        .replace(escape("{customer}"), "[A-Za-z0-9]+")
        .replace(escape("{subsystem}"), "[A-Za-z0-9]+")
        .replace(escape("{Product}"), escape(product))
        .replace(escape("{side}"), "[AB]");
    return new RegExp(`^${source}$`);
}

/** A topology's config as the rules see it (any product). */
type TopologyConfig = Record<string, unknown>;

/** Node-count rules per product (PROCEDURES.md pre-check 4). */
const NODE_RULES: Readonly<Record<string, (c: TopologyConfig, key: string, p: Problems) => void>> = {
    redis: (c, key, p) => {
        if (c.master !== undefined && c.master === c.slave) p.add(`${key}.slave`, "Redis HA is 1 master + 1 slave on two hosts (site rule: pre-check 4): the slave must be another host than the master", c.slave);
        if (c.vip === undefined) p.add(`${key}.vip`, "Redis HA is 1 master + 1 slave + keepalived (site rule: pre-check 4): the keepalived VIP is required", undefined);
    },
    kafka: (c, key, p) => {
        for (const part of ["zookeeper", "brokers"] as const) {
            const list = c[part];
            const n = Array.isArray(list) ? list.length : 0;
            if (n !== 3) p.add(`${key}.${part}`, `Kafka is 3 Kafka + 3 ZooKeeper (site rule: pre-check 4): list 3 ${part === "brokers" ? "brokers" : "ZooKeeper nodes"}`, `${n} listed`);
        }
    },
    fastdfs: (c, key, p) => {
        const n = Array.isArray(c.trackers) ? c.trackers.length : 0;
        if (n !== 3) p.add(`${key}.trackers`, "FastDFS runs 3 trackers (site rule: pre-check 4; add the third with `added: true`)", `${n} listed`);
    },
    postgres: (c, key, p) => {
        if (c.master !== undefined && c.master === c.standby) p.add(`${key}.standby`, "a PostgreSQL pair is a master and a standby on two hosts: the standby must be another host than the master", c.standby);
        if (c.spare !== undefined && (c.spare === c.master || c.spare === c.standby)) p.add(`${key}.spare`, "the spare is a third host: it must be neither the master nor the standby", c.spare);
    },
};

/**
 * Checks the site rules on the raw values of `middleware:<product>` and `middleware:site`, adding
 * every failure to `p`; returns the instance name of each product the site runs when the site
 * names its instances (`middleware:site`), else an empty map.
 */
export function checkSiteRules(topologies: Readonly<Record<string, unknown>>, naming: unknown, p: Problems): Map<string, string> {
    const present: [string, TopologyConfig][] = [];
    for (const [product, value] of Object.entries(topologies)) {
        if (value === undefined || value === null) continue;
        const key = `middleware:${product}`;
        if (Array.isArray(value)) {
            p.add(key, `each product is deployed as ONE instance (site rule: pre-check 7): give one ${PRODUCTS[product] ?? product} object, not a list of ${value.length}`, `[${value.length} items]`);
            continue;
        }
        if (typeof value !== "object" || value === null) {
            p.add(key, "must be an object", value);
            continue;
        }
        present.push([product, value as TopologyConfig]);
        NODE_RULES[product]?.(value as TopologyConfig, key, p);
    }
    const names = new Map<string, string>();
    if (naming === undefined || naming === null) return names;
    const n = naming as Partial<SiteNamingConfig>;
    for (const part of ["customer", "subsystem"] as const) {
        if (typeof n[part] !== "string" || !PART.test(n[part]!)) p.add(`middleware:site.${part}`, "must be letters and digits (it is part of every instance name)", n[part]);
    }
    if (n.side !== "A" && n.side !== "B") p.add("middleware:site.side", "must be A or B (the data centre of this site's instances)", n.side);
    const pattern = n.instanceNamePattern ?? DEFAULT_INSTANCE_NAME_PATTERN;
    const missing = PLACEHOLDERS.filter((ph) => !pattern.includes(ph));
    if (missing.length) p.add("middleware:site.instanceNamePattern", `must contain ${missing.join(", ")}: instance names must tell the site's instances apart (site rule: pre-check 6)`, pattern);
    if (missing.length || p.list.some((x) => x.path.startsWith("middleware:site."))) return names;
    const seen = new Map<string, string>();
    for (const [product, c] of present) {
        const productName = PRODUCTS[product] ?? product;
        const rendered = pattern.replace("{customer}", n.customer!).replace("{subsystem}", n.subsystem!).replace("{Product}", productName).replace("{side}", n.side!);
        const name = c.instanceName === undefined ? rendered : c.instanceName;
        const key = `middleware:${product}.instanceName`;
        if (typeof name !== "string" || !namePattern(pattern, productName).test(name)) {
            p.add(key, `must follow the site's pattern ${pattern} for ${productName} (site rule: pre-check 6), e.g. ${rendered}`, name);
            continue;
        }
        if (seen.has(name)) p.add(key, `must tell this instance apart: ${seen.get(name)} has the same name (site rule: pre-check 6)`, name);
        seen.set(name, `middleware:${product}`);
        names.set(product, name);
    }
    return names;
}
