/**
 * The policy pack of middleware site stacks, applied with `--policy-pack policy` (the approval
 * tools always apply it). Its rules are in ./rules; see docs/approval.md.
 */
import { EnforcementLevel, PolicyPack, PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { finalizedProtected, hostKeysPinned, oneTopologySwitching, secretsOnStdinOnly, SiteResource, UNKNOWN } from "./rules";

// `@pulumi/policy` wraps props in proxies that throw on unknown values; the rules decide on
// unknowns themselves, so they read the plain values under the proxies (these names and
// sentinels are @pulumi/policy 1.21.0's, pinned in package.json).
const proxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
const sentinels = new Set(["unknownBooleanValue", "unknownNumberValue", "unknownStringValue", "unknownArrayValue", "unknownAssetValue", "unknownArchiveValue", "unknownObjectValue"].map((k) => proxy[k]));

function plain(v: unknown): unknown {
    if (sentinels.has(v)) return UNKNOWN;
    if (v && typeof v === "object") {
        const target = (v as Record<string, unknown>)[proxy.getSpecialProxyTarget as string];
        const obj = (target ?? v) as Record<string, unknown>;
        if (Array.isArray(obj)) return obj.map(plain);
        return Object.fromEntries(Object.keys(obj).map((k) => [k, plain(obj[k])]));
    }
    return v;
}

function siteResources(args: StackValidationArgs): SiteResource[] {
    return args.resources.map((r: PolicyResource) => ({
        type: r.type,
        name: r.name,
        props: plain(r.props) as Record<string, unknown>,
        protect: r.opts.protect,
        additionalSecretOutputs: r.opts.additionalSecretOutputs ?? [],
    }));
}

const rule = (name: string, description: string, check: (rs: SiteResource[]) => string[]) => ({
    name,
    description,
    enforcementLevel: "mandatory" as EnforcementLevel,
    validateStack: (args: StackValidationArgs, reportViolation: (message: string) => void) => {
        for (const v of check(siteResources(args))) reportViolation(v);
    },
});

new PolicyPack("middleware-site", {
    policies: [
        rule("host-key-pinned", "Every step connects with the host's key pinned.", hostKeysPinned),
        rule("one-topology-switching", "At most one topology switches (runs steps clients notice) in one update.", oneTopologySwitching),
        rule("finalized-protected", "A finalized topology has every step protected, so it is never deleted.", finalizedProtected),
        rule("secrets-on-stdin-only", "No secret in clear in any step input: secrets only on stdin, kept secret.", secretsOnStdinOnly),
    ],
});
