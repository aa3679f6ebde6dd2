/**
 * `npm run bench -- fastdfs`: the FastDFS site migrated and rolled back on the sandbox with a
 * real `pulumi up` and `pulumi destroy`, while a client downloads through the download VIP and
 * nginx and uploads through the trackers; after each, every file (seeded and acknowledged
 * uploads) is downloaded and checked by sha256. Prints, as its last line, JSON with
 * download_gap_ms, upload_failures, files_verified, lost, corrupted and total_s for each.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import * as sandbox from "../sandbox";
import { clientOptions, downloadEndpoints, fastdfsStack } from "../tools/fastdfs-site";
import { startFastdfsClient, StoredFile, verifyFiles } from "./fastdfs-client";
import { measureWithClient } from "./measure";

/** What one engine run did to the client and the files. */
export interface FastdfsRunFigures {
    /** The longest gap between two successful downloads. */
    readonly download_gap_ms: number;
    readonly upload_failures: number;
    /** Files downloaded afterwards with their sha256: the seeded ones and every acknowledged upload so far. */
    readonly files_verified: number;
    /** Files no endpoint served afterwards. */
    readonly lost: number;
    /** Files served with other bytes (afterwards, or during the run). */
    readonly corrupted: number;
    /** Wall time of the engine command. */
    readonly total_s: number;
    readonly downloads: number;
    readonly uploads: number;
}

async function measured(label: string, inv: sandbox.Inventory, files: StoredFile[], run: () => Promise<void>): Promise<FastdfsRunFigures> {
    const client = startFastdfsClient({ ...(await clientOptions(inv)), files });
    const { report, totalS } = await measureWithClient(client, run);
    files.push(...report.uploaded);
    const v = await verifyFiles(downloadEndpoints(inv), files);
    const figures = {
        download_gap_ms: report.downloadGapMs,
        upload_failures: report.uploadFailures,
        files_verified: v.verified,
        lost: v.lost.length,
        corrupted: v.corrupted.length + report.corrupted,
        total_s: totalS,
        downloads: report.downloads,
        uploads: report.uploaded.length,
    };
    console.log(`bench: ${label}: ${JSON.stringify(figures)}, served by ${JSON.stringify(report.servedBy)}, ${report.downloadFailures} downloads failed`);
    return figures;
}

/** Runs the FastDFS benchmark with the arguments after `fastdfs`. */
export async function main(rest: readonly string[]): Promise<void> {
    const at = rest.indexOf("--files");
    const count = at >= 0 ? Number(rest[at + 1]) : undefined;
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new Error(`--files: expected a positive whole number, got ${rest[at + 1]}`);
    console.log("bench: laying out a fresh legacy FastDFS site in the sandbox");
    await sandbox.down();
    const inv = await sandbox.up({ hosts: 3, site: "legacy-fastdfs", dataset: count === undefined ? {} : { keys: count }, installPrerequisites: true });
    const stack: Stack = await fastdfsStack("bench-fastdfs");
    const files = [...inv.fastdfs!.files];
    const log = (line: string) => process.stdout.write(`  | ${line}`);
    const migration = await measured("migration", inv, files, async () => {
        const r = await stack.up({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi up: ${r.summary.result}`);
    });
    const rollback = await measured("rollback", inv, files, async () => {
        const r = await stack.destroy({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi destroy: ${r.summary.result}`);
    });
    console.log(JSON.stringify({ migration, rollback, seeded_files: inv.fastdfs!.files.length, seeded_mb: Number((inv.fastdfs!.bytes / 1048576).toFixed(1)) }));
}
