import { SandboxSettings } from "../config";
import { ExecOptions } from "../host-process";
import { Inventory } from "../inventory";
import { RunResult } from "../run";

/** Options of a site's data set. */
export interface DatasetOptions {
    /** Number of keys (or rows, files) to load. @default - the site's own default */
    readonly keys?: number;
    /** Seed of the generator: the same size and seed give the same data. @default 1 */
    readonly seed?: number;
}

/** What a site layout gets to work with. */
export interface SiteContext {
    readonly settings: SandboxSettings;
    readonly hosts: readonly string[];
    readonly dataset: DatasetOptions;
    /**
     * Redis version a Redis site runs, as redis-versions.ts offers them (already validated).
     * @default - the version the site already runs, else Debian's
     */
    readonly redisVersion?: string;
    /**
     * PostgreSQL server build a PostgreSQL site runs: "15.18" (Debian's) or "15.17" (the npm
     * package's server, see postgres-versions.ts; already validated).
     * @default - the build the site already runs, else Debian's
     */
    readonly postgresVersion?: string;
    /** Runs `sh -c cmd` on a host (in its namespaces). */
    exec(host: string, cmd: string, opts?: ExecOptions): Promise<RunResult>;
}

/** A middleware site the sandbox can lay out on its hosts, as a runbook found it. */
export interface Site {
    readonly name: string;
    readonly minHosts: number;
    /**
     * Lays the site out and starts it. Re-entrant: on hosts that already carry the site it only
     * starts what is stopped, and never reloads or overwrites data.
     * @returns facts to keep in the sandbox record (e.g. data set size), fed to {@link inventory}
     */
    layOut(ctx: SiteContext, previous: Record<string, unknown> | undefined): Promise<Record<string, unknown>>;
    /** The site's part of the inventory. */
    inventory(ctx: SiteContext, facts: Record<string, unknown>): Partial<Inventory>;
    /**
     * Undoes what the site changed outside its hosts' namespaces and files; `down` calls it for
     * every site, after every host process is gone, so it must find its own traces (it also runs
     * after a crashed `up` and when another site, or none, was laid out).
     * @default - nothing to undo
     */
    tearDown?(s: SandboxSettings): Promise<void>;
}
