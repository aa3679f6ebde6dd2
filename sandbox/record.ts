import * as fs from "fs";
import { SandboxSettings, statePaths } from "./config";

/** What `up` built, kept in the state dir so that later commands know the sandbox's shape. */
export interface SandboxRecord {
    readonly subnet: string;
    readonly hosts: readonly string[];
    /** The site laid out on the hosts. @default - bare hosts */
    readonly site?: string;
    /** Site-specific facts (e.g. the data set size) that `inventory` reports. */
    readonly siteFacts?: Record<string, unknown>;
}

/** The record of the current sandbox, or undefined when there is none. */
export function readRecord(s: SandboxSettings): SandboxRecord | undefined {
    const file = statePaths(s).sandboxFile;
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as SandboxRecord) : undefined;
}

/** Saves the record of the current sandbox. */
export function writeRecord(s: SandboxSettings, record: SandboxRecord): void {
    fs.writeFileSync(statePaths(s).sandboxFile, JSON.stringify(record, null, 2) + "\n");
}
