/**
 * The Redis pair on sandbox hosts, seen from inside each host: redis-cli on 127.0.0.1 (so that
 * DEBUG DIGEST, allowed for local connections only, works), INFO sections as records, who holds
 * the VIP, and the `_bak` paths a migration leaves.
 */
import { exec } from "../../sandbox";
import { sh } from "../../lib/core/shell";

/** The redis-cli every sandbox host has (Debian's, from the shared /usr). */
const CLI = "/usr/bin/redis-cli";

/**
 * Runs one command with redis-cli on `host` against its local Redis on `port`, the password
 * on stdin (never argv), and returns the reply as redis-cli prints it (trimmed).
 *
 * @throws Error when redis-cli fails or Redis answers with an error
 */
export async function redisOnHost(host: string, password: string, args: readonly string[], port = 6379): Promise<string> {
    const r = await exec(host, sh`read -r REDISCLI_AUTH; export REDISCLI_AUTH; exec ${CLI} -h 127.0.0.1 -p ${String(port)} ${args}`, {
        input: `${password}\n`,
        timeoutMs: 30_000,
    });
    const out = r.stdout.replace(/\r/g, "").trim();
    if (r.code !== 0 || /^(ERR|WRONGPASS|NOAUTH|MISCONF|LOADING)\b/.test(out)) {
        throw new Error(`${host}: redis-cli ${args.join(" ")}: exit ${r.code}: ${out} ${r.stderr.trim()}`);
    }
    return out;
}

/** An INFO section of the local Redis on `host`, as field → value. */
export async function redisInfo(host: string, password: string, section: string): Promise<Record<string, string>> {
    const out = await redisOnHost(host, password, ["INFO", section]);
    const fields: Record<string, string> = {};
    for (const line of out.split("\n")) {
        const m = /^([a-z0-9_]+):(.*)$/.exec(line.trim());
        if (m) fields[m[1]] = m[2];
    }
    return fields;
}

/** DEBUG DIGEST of the local Redis on `host`: one hex digest of the whole data set. */
export async function redisDigest(host: string, password: string): Promise<string> {
    const out = await redisOnHost(host, password, ["DEBUG", "DIGEST"]);
    if (!/^[0-9a-f]{40}$/.test(out)) throw new Error(`${host}: DEBUG DIGEST answered ${JSON.stringify(out)}`);
    return out;
}

/** DBSIZE of the local Redis on `host`. */
export async function redisDbsize(host: string, password: string): Promise<number> {
    const out = await redisOnHost(host, password, ["DBSIZE"]);
    if (!/^\d+$/.test(out)) throw new Error(`${host}: DBSIZE answered ${JSON.stringify(out)}`);
    return Number(out);
}

/** The hosts among `hosts` that carry `address` on `iface`. */
export async function vipHolders(hosts: readonly string[], address: string, iface = "eth0"): Promise<string[]> {
    const holders: string[] = [];
    for (const h of hosts) {
        const r = await exec(h, sh`ip -4 -o addr show dev ${iface}`);
        if (r.code !== 0) throw new Error(`${h}: ip addr: ${r.stderr.trim()}`);
        if (r.stdout.includes(` ${address}/`)) holders.push(h);
    }
    return holders;
}

/** Every path on `host` that is one of `paths` with `suffix` appended and exists (dangling links too). */
export async function existingWithSuffix(host: string, paths: readonly string[], suffix = "_bak"): Promise<string[]> {
    const found: string[] = [];
    for (const p of paths) {
        const r = await exec(host, sh`[ -e ${p + suffix} ] || [ -L ${p + suffix} ]`);
        if (r.code === 0) found.push(p + suffix);
    }
    return found;
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passed; returns its last answer. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await check().catch(() => false)) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}

/** Every key of the local Redis on `host` that matches `pattern` (SCAN, so the server is never blocked). */
export async function redisScan(host: string, password: string, pattern: string): Promise<string[]> {
    const out = await redisOnHost(host, password, ["--scan", "--pattern", pattern]);
    return out === "" ? [] : out.split("\n").map((k) => k.trim()).filter((k) => k !== "");
}
