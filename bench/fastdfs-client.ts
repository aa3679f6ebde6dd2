/**
 * A FastDFS client for the engine tests and the bench: downloads through nginx (the download VIP
 * first, then each nginx host) with Node's http, and uploads through the trackers with the real
 * `fdfs_upload_file` run over SSH on a sandbox host. Every download is checked by sha256.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { Client } from "ssh2";

/** A stored file: its FastDFS id, size and sha256. */
export interface StoredFile {
    readonly id: string;
    readonly size: number;
    readonly sha256: string;
}

/** Where the client goes. */
export interface FastdfsClientOptions {
    /** `http://address:port` of the download VIP and of each nginx host, tried in this order. */
    readonly endpoints: readonly string[];
    /** The files to download meanwhile (the seeded set). */
    readonly files: readonly StoredFile[];
    /** The host uploads run on, over SSH. */
    readonly uploadHost: { readonly address: string; readonly privateKeyPath: string; readonly hostPublicKey: string };
    /** The command line of `fdfs_upload_file` up to the local file name (libraries and client config included). */
    readonly uploadCommand: string;
    /** Pause between downloads. @default 20 ms */
    readonly downloadIntervalMs?: number;
    /** Pause between uploads. @default 250 ms */
    readonly uploadIntervalMs?: number;
}

/** What the client saw while it ran. */
export interface FastdfsClientReport {
    readonly downloads: number;
    readonly downloadFailures: number;
    /** Downloads whose bytes did not have the file's sha256. */
    readonly corrupted: number;
    /** The longest time without a successful download, from start to stop. */
    readonly downloadGapMs: number;
    /** Successful downloads per endpoint. */
    readonly servedBy: Readonly<Record<string, number>>;
    readonly uploadFailures: number;
    /** Uploads acknowledged with a file id. */
    readonly uploaded: readonly StoredFile[];
}

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const agent = new http.Agent({ keepAlive: false });

/** GET `url`; resolves with the body on 200, rejects otherwise (within `timeoutMs`). */
export function httpGet(url: string, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`))));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
    });
}

/** Downloads `file` from the first endpoint that serves it; returns the endpoint and whether its sha256 matched. */
export async function download(endpoints: readonly string[], file: StoredFile, timeoutMs = 1000): Promise<{ endpoint: string; ok: boolean } | undefined> {
    for (const e of endpoints) {
        try {
            const body = await httpGet(`${e}/${file.id}`, timeoutMs + Math.ceil(file.size / 10_000));
            return { endpoint: e, ok: sha256(body) === file.sha256 };
        } catch {
            // the next endpoint
        }
    }
    return undefined;
}

function connect(o: FastdfsClientOptions["uploadHost"]): Promise<Client> {
    return new Promise((resolve, reject) => {
        const c = new Client();
        c.on("ready", () => resolve(c)).on("error", reject).connect({
            host: o.address,
            username: "root",
            privateKey: fs.readFileSync(o.privateKeyPath),
            hostVerifier: (key: Buffer) => key.toString("base64") === o.hostPublicKey.split(" ")[1],
            readyTimeout: 10_000,
        });
    });
}

function execWithInput(c: Client, command: string, input: Buffer, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("upload timed out")), timeoutMs);
        c.exec(command, (err, ch) => {
            if (err) {
                clearTimeout(timer);
                reject(err);
                return;
            }
            let stdout = "";
            let stderr = "";
            ch.on("data", (d: Buffer) => (stdout += d.toString()));
            ch.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            ch.on("close", (code: number | null) => {
                clearTimeout(timer);
                resolve({ code: code ?? 1, stdout, stderr });
            });
            ch.end(input);
        });
    });
}

/** A running client; `stop` ends it and reports. */
export interface RunningFastdfsClient {
    stop(): Promise<FastdfsClientReport>;
}

/** Starts downloading and uploading until `stop`. */
export function startFastdfsClient(o: FastdfsClientOptions): RunningFastdfsClient {
    let running = true;
    const started = performance.now();
    let lastOk = started;
    let gap = 0;
    let downloads = 0;
    let downloadFailures = 0;
    let corrupted = 0;
    let uploadFailures = 0;
    const servedBy: Record<string, number> = {};
    const uploaded: StoredFile[] = [];
    // The loop downloads the smaller files (the large ones are checked by the full verification).
    const pool = o.files.filter((f) => f.size <= 64 * 1024);
    const downloader = (async () => {
        let i = 0;
        // The endpoint that served last is tried first; every 25th download tries the VIP first
        // again, so that the client moves to it once it is up.
        let preferred = o.endpoints[0];
        while (running) {
            const candidates = uploaded.length && i % 4 === 3 ? uploaded : pool;
            const f = candidates[(i * 7919) % candidates.length];
            const first = i++ % 25 === 0 ? o.endpoints[0] : preferred;
            const got = await download([first, ...o.endpoints.filter((e) => e !== first)], f, 300);
            if (got) preferred = got.endpoint;
            const now = performance.now();
            if (got) {
                downloads++;
                servedBy[got.endpoint] = (servedBy[got.endpoint] ?? 0) + 1;
                if (!got.ok) corrupted++;
                gap = Math.max(gap, now - lastOk);
                lastOk = now;
            } else {
                downloadFailures++;
            }
            await sleep(o.downloadIntervalMs ?? 20);
        }
        gap = Math.max(gap, performance.now() - lastOk);
    })();
    const uploader = (async () => {
        let ssh: Client | undefined;
        let n = 0;
        while (running) {
            const content = crypto.randomBytes(4096 + crypto.randomInt(12_288));
            const name = `/tmp/fastdfs-client-${process.pid}-${n++}.bin`;
            try {
                ssh ??= await connect(o.uploadHost);
                const r = await execWithInput(ssh, `cat >${name} && ${o.uploadCommand} ${name}; rc=$?; rm -f ${name}; exit $rc`, content, 30_000);
                const id = r.stdout.trim();
                if (r.code === 0 && /^[A-Za-z0-9_]+\/M\d\d\/[0-9A-F]{2}\/[0-9A-F]{2}\/\S+$/.test(id)) {
                    uploaded.push({ id, size: content.length, sha256: sha256(content) });
                } else {
                    uploadFailures++;
                }
            } catch {
                uploadFailures++;
                ssh?.end();
                ssh = undefined;
            }
            await sleep(o.uploadIntervalMs ?? 250);
        }
        ssh?.end();
    })();
    return {
        async stop() {
            running = false;
            await Promise.all([downloader, uploader]);
            return { downloads, downloadFailures, corrupted, downloadGapMs: Math.round(gap), servedBy, uploadFailures, uploaded: [...uploaded] };
        },
    };
}

/** What a full verification found. */
export interface VerifyReport {
    readonly verified: number;
    /** Files no endpoint served. */
    readonly lost: readonly string[];
    /** Files served with other bytes. */
    readonly corrupted: readonly string[];
}

/** Downloads every file (8 at a time) and checks its sha256. */
export async function verifyFiles(endpoints: readonly string[], files: readonly StoredFile[]): Promise<VerifyReport> {
    const lost: string[] = [];
    const corrupted: string[] = [];
    let verified = 0;
    let next = 0;
    // The endpoint that served last goes first: a VIP that is down costs one time-out, not one per file.
    let preferred = endpoints[0];
    const order = () => [preferred, ...endpoints.filter((e) => e !== preferred)];
    const worker = async () => {
        while (next < files.length) {
            const f = files[next++];
            let got = await download(order(), f, 3000);
            if (!got) {
                await sleep(500);
                got = await download(order(), f, 5000);
            }
            if (got) preferred = got.endpoint;
            if (!got) lost.push(f.id);
            else if (!got.ok) corrupted.push(f.id);
            else verified++;
        }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return { verified, lost, corrupted };
}
