/**
 * Pure validators for the inputs that end up in shell scripts, and {@link Problems}, which
 * gathers every problem of a component's arguments into one error before any child exists.
 *
 * Each validator takes any value and returns the rules it breaks (empty when valid); it never
 * throws. Rules are phrased to follow the property path: `args.port: must be ...`.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";

/** A pure check: the rules `value` breaks, or an empty array. */
export type Validator = (value: unknown) => string[];

/** Rule text for a value that is not a string. */
export const MUST_BE_STRING = "must be a string";

const IPV4_OCTET = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const DNS_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PATH_CHARSET = /^[A-Za-z0-9._/+@-]*$/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;
const VERSION = /^[0-9]+(\.[0-9]+){0,3}([-+][A-Za-z0-9.]+)?$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;
const POSIX_ACCOUNT = "([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})";
const OWNER = new RegExp(`^${POSIX_ACCOUNT}(:${POSIX_ACCOUNT})?$`);
const FILE_MODE = /^[0-7]{3,4}$/;

/** Longest path {@link checkAbsolutePath} accepts (Linux `PATH_MAX`). */
export const MAX_PATH_LENGTH = 4096;

function isIpv4(value: string): boolean {
    const parts = value.split(".");
    return parts.length === 4 && parts.every((p) => IPV4_OCTET.test(p));
}

/** IPv4 dotted quad (no leading zeros) or DNS host name (RFC 1123 labels, at most 253 characters). */
export function checkAddress(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    if (isIpv4(value)) return [];
    // All-digit names such as "10.1.2" are read as IPv4 by some resolvers: demand a full quad.
    const looksNumeric = /^[0-9.]+$/.test(value);
    const isHost = !looksNumeric && value.length <= 253 && value.split(".").every((l) => DNS_LABEL.test(l));
    return isHost ? [] : ["must be an IPv4 address (a.b.c.d) or a DNS host name (letters, digits, '-' inside labels)"];
}

/** Integer TCP/UDP port from 1 to 65535. */
export function checkPort(value: unknown): string[] {
    const ok = typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535;
    return ok ? [] : ["must be an integer from 1 to 65535"];
}

/**
 * Normalised absolute path made of conservative characters: starts with `/`, no `.`/`..` or
 * empty segments, no trailing `/` (except `/` itself), no segment starting with `-`,
 * only `A-Z a-z 0-9 . _ / + @ -`, at most {@link MAX_PATH_LENGTH} characters.
 */
export function checkAbsolutePath(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    const problems: string[] = [];
    if (!value.startsWith("/")) problems.push("must be an absolute path (start with /)");
    if (/[\0\n\r]/.test(value)) problems.push("must not contain NUL, newline or carriage return characters");
    if (!PATH_CHARSET.test(value)) problems.push("must use only the characters A-Z a-z 0-9 . _ / + @ -");
    const segments = (value.startsWith("/") ? value.slice(1) : value).split("/");
    if (segments.includes("..")) problems.push("must not contain .. segments");
    if (value !== "/" && segments.some((s) => s === "" || s === ".")) {
        problems.push("must be normalised (no '.' or empty segments, no trailing /)");
    }
    if (segments.some((s) => s.startsWith("-"))) problems.push("must not have a segment starting with -");
    if (value.length > MAX_PATH_LENGTH) problems.push(`must be at most ${MAX_PATH_LENGTH} characters`);
    return problems;
}

/** Service name as SysV, systemd and custom managers accept it: `^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$`. */
export function checkServiceName(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return SERVICE_NAME.test(value) ? [] : ["must be a service name (letter or digit, then letters, digits, _ . @ -; at most 128)"];
}

/** Version such as `6.2.14`, `3.6.1-rc1` or `15.4+deb12`: `^[0-9]+(\.[0-9]+){0,3}([-+][A-Za-z0-9.]+)?$`. */
export function checkVersion(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return VERSION.test(value) ? [] : ["must be a version like 1.2.3 (up to 4 numbers, optional -suffix or +suffix)"];
}

/**
 * IPv4 address with a prefix length, `a.b.c.d/n` with n from 0 to 32. Host bits may be set,
 * because a VIP is written that way (`192.168.1.100/24`).
 */
export function checkCidr(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    const [address, prefix, ...rest] = value.split("/");
    const ok = rest.length === 0 && isIpv4(address) && prefix !== undefined
        && /^(3[0-2]|[12]?[0-9])$/.test(prefix);
    return ok ? [] : ["must be an IPv4 CIDR a.b.c.d/n with n from 0 to 32"];
}

/**
 * Name that is safe as a Pulumi resource name part, a journal field and a file name on the
 * host: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`.
 */
export function checkName(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return NAME.test(value) ? [] : ["must be a name (letter or digit, then letters, digits, _ . -; at most 63)"];
}

/** Package name for apt or yum: `^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$`. */
export function checkPackageName(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return PACKAGE_NAME.test(value) ? [] : ["must be a package name (letter or digit, then letters, digits, _ . + -)"];
}

/** File owner for `chown`: `user` or `user:group`, names or numeric ids. */
export function checkOwner(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return OWNER.test(value) ? [] : ["must be an owner like user or user:group (POSIX names or numeric ids)"];
}

/** Octal permission mode for `chmod`: three or four octal digits, e.g. `0640`. */
export function checkFileMode(value: unknown): string[] {
    if (typeof value !== "string") return [MUST_BE_STRING];
    return FILE_MODE.test(value) ? [] : ["must be an octal mode of 3 or 4 digits, e.g. 0640"];
}

/** Whole number of seconds from `min` up to `max` (inclusive). */
export function checkSeconds(min: number, max = 86400): Validator {
    return (value) => {
        const ok = typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
        return ok ? [] : [`must be a whole number of seconds from ${min} to ${max}`];
    };
}

/** One broken rule: where, what was expected, and what was given. */
export interface Problem {
    /** Property path from the component's arguments, e.g. `args.master.address`. */
    readonly path: string;
    /** The rule the value breaks, e.g. `must be an integer from 1 to 65535`. */
    readonly rule: string;
    /** The offending value. */
    readonly value: unknown;
}

// Long values (a pasted file, a 100k string) would drown the other problems.
const MAX_SHOWN = 120;

/** The value as JSON for a message, shortened when long. */
export function describeValue(value: unknown): string {
    let text: string | undefined;
    try {
        text = JSON.stringify(value);
    } catch {
        text = undefined;
    }
    if (text === undefined) text = String(value);
    return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}... (${text.length} characters)` : text;
}

/** `<property path>: <rule> (got <JSON value>)`, the line an operator reads. */
export function formatProblem(p: Problem): string {
    return `${p.path}: ${p.rule} (got ${describeValue(p.value)})`;
}

/**
 * The error thrown by {@link Problems.throwIfAny}: a `pulumi.InputPropertiesError` (the engine
 * pretty-prints it) whose message lists every problem, one per line.
 */
export class ConfigError extends pulumi.InputPropertiesError {
    /** Every problem found, in the order they were checked. */
    readonly problems: readonly Problem[];

    /**
     * @param resourceName - the component whose arguments are wrong
     * @param problems - at least one problem
     */
    constructor(resourceName: string, problems: readonly Problem[]) {
        const lines = problems.map((p) => `  - ${formatProblem(p)}`);
        super({
            message: `${resourceName}: ${problems.length} invalid argument(s):\n${lines.join("\n")}`,
            errors: problems.map((p) => ({ propertyPath: p.path, reason: `${p.rule} (got ${describeValue(p.value)})` })),
        });
        this.name = "ConfigError";
        this.problems = problems;
    }
}

function notYetKnown(value: unknown): boolean {
    // Outputs and promises are resolved later by the engine; validating them as strings would
    // reject every computed value, so they are left to the step that uses them.
    return pulumi.Output.isInstance(value) || value instanceof Promise;
}

/**
 * Gathers the problems of a component's arguments so that one error names all of them.
 *
 * @example
 * const p = new Problems();
 * p.check("args.master.address", args.master.address, checkAddress);
 * p.checkOptional("args.port", args.port, checkPort);
 * p.throwIfAny(name);
 */
export class Problems {
    private readonly found: Problem[] = [];

    /** Every problem found so far. */
    get list(): readonly Problem[] {
        return this.found;
    }

    /** Validates a required value; a value that is not yet known (an Output) is skipped. */
    check(path: string, value: unknown, validator: Validator): this {
        if (notYetKnown(value)) return this;
        for (const rule of validator(value)) this.add(path, rule, value);
        return this;
    }

    /** Like {@link check}, but `undefined` (not given) is fine. */
    checkOptional(path: string, value: unknown, validator: Validator): this {
        return value === undefined ? this : this.check(path, value, validator);
    }

    /** Records a problem found by a rule that is not a {@link Validator} (node counts, layouts). */
    add(path: string, rule: string, value: unknown): this {
        this.found.push({ path, rule, value });
        return this;
    }

    /**
     * Throws one {@link ConfigError} listing every problem, if there is any.
     *
     * @param resourceName - the component (or action) whose arguments were checked
     */
    throwIfAny(resourceName: string): void {
        if (this.found.length > 0) throw new ConfigError(resourceName, [...this.found]);
    }
}
