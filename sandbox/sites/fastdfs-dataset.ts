import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostFileOnRoot } from "../host-fs";
import { progress } from "../progress";
import type { SiteContext } from "./site";

/** Files of the default data set. */
export const DEFAULT_FASTDFS_FILES = 2000;
/** One file in a hundred is large: 1 to 4 MiB; the others 1 to 32 KiB. */
const LARGE_EVERY = 100;

/** One stored file, as the inventory records it. */
export interface DatasetFile {
    /** The FastDFS file id, `group1/M00/00/00/...`. */
    readonly id: string;
    readonly size: number;
    readonly sha256: string;
}

/** A generated file before upload. */
export interface SeedFile {
    readonly name: string;
    readonly content: Buffer;
}

/** xorshift32: fast, reproducible bytes (not for anything secret). */
function xorshift(seed: number): () => number {
    let x = seed >>> 0 || 0x9e3779b9;
    return () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x >>> 0;
    };
}

/** `count` files of mixed sizes, the same for the same count and seed. */
export function seedFiles(count: number, seed: number): SeedFile[] {
    const next = xorshift(seed * 2654435761);
    return Array.from({ length: count }, (_, i) => {
        const size = i % LARGE_EVERY === LARGE_EVERY - 1 ? 1048576 + (next() % (3 * 1048576)) : 1024 + (next() % (31 * 1024));
        const content = Buffer.allocUnsafe(size);
        for (let o = 0; o < size; o += 4) {
            const v = next();
            content[o] = v & 0xff;
            if (o + 1 < size) content[o + 1] = (v >>> 8) & 0xff;
            if (o + 2 < size) content[o + 2] = (v >>> 16) & 0xff;
            if (o + 3 < size) content[o + 3] = (v >>> 24) & 0xff;
        }
        return { name: `seed-${String(i).padStart(5, "0")}.bin`, content };
    });
}

export const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

/**
 * Uploads `files` from `host` with the real FastDFS client (`upload` is its command line up to
 * the local file name), four at a time; returns each file's id, size and sha256.
 */
export async function uploadDataset(ctx: SiteContext, host: string, files: readonly SeedFile[], upload: string): Promise<DatasetFile[]> {
    const dir = "/tmp/fastdfs-seed";
    const onRoot = hostFileOnRoot(ctx.settings, host, dir);
    fs.rmSync(onRoot, { recursive: true, force: true });
    fs.mkdirSync(onRoot, { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(onRoot, f.name), f.content);
    progress(`legacy-fastdfs: uploading ${files.length} files from ${host} with fdfs_upload_file`);
    // A tracker offers a storage for uploads only once the storage has reported its free space: retry.
    const once = `for t in 1 2 3 4 5 6 7 8 9 10; do id=$(${upload} ${dir}/{} 2>/dev/null) && break; sleep 1; done`;
    const r = await ctx.exec(host, `cd ${dir} && ls | xargs -P 4 -I{} sh -c '${once}; [ -n "$id" ] && printf "%s %s\\n" {} "$id"'`);
    fs.rmSync(onRoot, { recursive: true, force: true });
    const ids = new Map<string, string>();
    for (const line of r.stdout.split("\n")) {
        const [name, id] = line.trim().split(" ");
        if (name && id) ids.set(name, id);
    }
    if (r.code !== 0 || ids.size !== files.length) {
        throw new Error(`${host}: uploading the data set failed (exit ${r.code}, ${ids.size}/${files.length} ids): ${r.stderr.trim().slice(-800)}`);
    }
    return files.map((f) => ({ id: ids.get(f.name)!, size: f.content.length, sha256: sha256(f.content) }));
}
