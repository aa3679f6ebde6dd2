import * as fs from "fs";
import * as zlib from "zlib";

/*
 * Just enough of the zip format to take one file out of a jar, so that extracting a binary
 * needs neither `unzip` nor a JDK on the machine. Stored and deflated entries; no zip64, no
 * encryption (a jar from Maven Central has neither).
 */

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The names of the entries of a zip file, in central directory order. */
export function zipEntryNames(file: string): string[] {
    return centralDirectory(fs.readFileSync(file), file).map((e) => e.name);
}

/** The uncompressed content of the entry `name` of the zip file `file`; throws when it is missing. */
export function readZipEntry(file: string, name: string): Buffer {
    const zip = fs.readFileSync(file);
    const entry = centralDirectory(zip, file).find((e) => e.name === name);
    if (!entry) throw new Error(`${file} has no entry ${name}`);
    if (zip.readUInt32LE(entry.localOffset) !== LOCAL) throw new Error(`${file}: no local header for ${name}`);
    const start = entry.localOffset + 30 + zip.readUInt16LE(entry.localOffset + 26) + zip.readUInt16LE(entry.localOffset + 28);
    const data = zip.subarray(start, start + entry.compressedSize);
    let out: Buffer;
    if (entry.method === 0) out = Buffer.from(data);
    else if (entry.method === 8) out = zlib.inflateRawSync(data);
    else throw new Error(`${file}: entry ${name} uses compression method ${entry.method}, not stored or deflated`);
    if (out.length !== entry.size) throw new Error(`${file}: entry ${name} inflated to ${out.length} bytes, its header says ${entry.size}`);
    return out;
}

interface CentralEntry {
    readonly name: string;
    readonly method: number;
    readonly compressedSize: number;
    readonly size: number;
    readonly localOffset: number;
}

function centralDirectory(zip: Buffer, file: string): CentralEntry[] {
    // The end record is the last 22 bytes, unless a comment (at most 64 KiB) follows it.
    let eocd = -1;
    for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
        if (zip.readUInt32LE(i) === EOCD) {
            eocd = i;
            break;
        }
    }
    if (eocd < 0) throw new Error(`${file} is not a zip file (no end of central directory)`);
    const count = zip.readUInt16LE(eocd + 10);
    let p = zip.readUInt32LE(eocd + 16);
    if (count === 0xffff || p === 0xffffffff) throw new Error(`${file} is a zip64 file, which this reader does not handle`);
    const entries: CentralEntry[] = [];
    for (let n = 0; n < count; n++) {
        if (zip.readUInt32LE(p) !== CENTRAL) throw new Error(`${file}: damaged central directory at entry ${n}`);
        const nameLength = zip.readUInt16LE(p + 28);
        entries.push({
            name: zip.toString("utf8", p + 46, p + 46 + nameLength),
            method: zip.readUInt16LE(p + 10),
            compressedSize: zip.readUInt32LE(p + 20),
            size: zip.readUInt32LE(p + 24),
            localOffset: zip.readUInt32LE(p + 42),
        });
        p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    }
    return entries;
}
