/*
 * A reproducible Redis data set: the same size and seed always give the same keys, types and
 * values, so a test can compare what a migration carried over with what was loaded.
 */

/** Default number of keys loaded into the legacy master. */
export const DEFAULT_DATASET_KEYS = 200_000;
/** Default generator seed. */
export const DEFAULT_DATASET_SEED = 1;
/** TTL of the keys that expire: ten years, so nothing expires during a test or a migration. */
export const FAR_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** Share of keys per type, in order; the rest are strings. */
const TYPE_SHARES: ReadonlyArray<readonly [KeyType, number]> = [
    ["hash", 0.15],
    ["list", 0.12],
    ["set", 0.12],
    ["zset", 0.11],
];
/** Share of keys that get a (far) TTL. */
const TTL_SHARE = 0.1;

/** Redis value types the data set uses. */
export type KeyType = "string" | "hash" | "list" | "set" | "zset";

/** A small fast seeded PRNG (mulberry32): deterministic across Node versions. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** The commands that create key number `i` (0-based), e.g. [["HSET", k, f, v], ["EXPIRE", k, ttl]]. */
export function keyCommands(i: number, rand: () => number): string[][] {
    const word = (min: number, max: number) => {
        const n = min + Math.floor(rand() * (max - min + 1));
        let s = "";
        for (let j = 0; j < n; j++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
        return s;
    };
    const count = (max: number) => 1 + Math.floor(rand() * max);
    let r = rand();
    let type: KeyType = "string";
    for (const [t, share] of TYPE_SHARES) {
        if (r < share) {
            type = t;
            break;
        }
        r -= share;
    }
    const key = `legacy:${type}:${String(i).padStart(7, "0")}`;
    const cmds: string[][] = [];
    if (type === "string") cmds.push(["SET", key, word(8, 96)]);
    if (type === "hash") cmds.push(["HSET", key, ...Array.from({ length: count(8) }, (_, j) => [`field${j}`, word(4, 48)]).flat()]);
    if (type === "list") cmds.push(["RPUSH", key, ...Array.from({ length: count(10) }, () => word(4, 32))]);
    if (type === "set") cmds.push(["SADD", key, ...Array.from({ length: count(10) }, (_, j) => `m${j}-${word(4, 16)}`)]);
    if (type === "zset") {
        cmds.push(["ZADD", key, ...Array.from({ length: count(10) }, (_, j) => [String(Math.floor(rand() * 100000)), `m${j}`]).flat()]);
    }
    if (rand() < TTL_SHARE) cmds.push(["EXPIRE", key, String(FAR_TTL_SECONDS)]);
    return cmds;
}

/** One command in the Redis protocol (RESP), as redis-cli --pipe expects it. */
export function resp(words: readonly string[]): string {
    let out = `*${words.length}\r\n`;
    for (const w of words) out += `$${Buffer.byteLength(w)}\r\n${w}\r\n`;
    return out;
}

/**
 * The data set as a RESP stream in chunks of about 256 KiB, optionally preceded by AUTH (so the
 * password travels on stdin, never on a command line).
 */
export async function* datasetStream(
    keys: number,
    seed: number,
    auth?: string,
    onProgress?: (done: number) => void,
): AsyncGenerator<string> {
    const rand = prng(seed);
    let chunk = auth ? resp(["AUTH", auth]) : "";
    for (let i = 0; i < keys; i++) {
        for (const c of keyCommands(i, rand)) chunk += resp(c);
        if (chunk.length >= 256 * 1024) {
            yield chunk;
            chunk = "";
        }
        if (onProgress && (i + 1) % 50_000 === 0) onProgress(i + 1);
    }
    if (chunk) yield chunk;
}
