/**
 * `npm run bench -- postgres`: the PostgreSQL pair on the sandbox through a real `pulumi up` and
 * `destroy` while a client commits through the VIP every 10 ms: the standby built, a switchover,
 * the switch back, the standby removed; then the major upgrade 15 -> 16: one whose pg_upgrade
 * fails after the stop (a table file missing on the master: pg_upgrade --check passes, the
 * link fails) and takes the runbook's way back (`major_rollback`), and one that
 * succeeds (`major_upgrade`); then the site laid out anew on the 15.17 server (same data set)
 * for the minor roll to Debian's 15.18 (`minor_upgrade`: standby, switchover, switch back).
 * Prints, as its last line, JSON with write_gap_ms, lost_commits and total_s for each.
 */
import { measureWithClient } from "./measure";
import type { Stack } from "@pulumi/pulumi/automation";
import { breakUpgradeAfterCheck, freshLegacyPostgres, patchPostgresConfig, postgresAppPassword, postgresSandboxConfig, postgresStack } from "../tools/postgres-site";
import { hasResources } from "../tools/redis-site";
import { startPgWriter, verifyPgWrites } from "./pg-writer";
import { exec } from "../sandbox";
import { DEFAULT_STATE_DIR } from "../lib/core/script";
import { POSTGRES_STEPS } from "../lib/postgres/plan";
import { DISCARD_FILE } from "../lib/postgres/upgrade";
import { postgresBinDir } from "../sandbox/sites/postgres-versions";
import { LEGACY_POSTGRES } from "../sandbox/sites/postgres-files";

/** What one engine run did to the committing client. */
export interface PgRunFigures {
    /** The longest stretch without an acknowledged commit. */
    readonly write_gap_ms: number;
    /** Acknowledged commits missing afterwards. */
    readonly lost_commits: number;
    /** Wall time of the engine command. */
    readonly total_s: number;
    readonly commits: number;
    readonly acknowledged: number;
}

/** Runs the PostgreSQL benchmark. */
export async function main(args: readonly string[]): Promise<void> {
    const ordersAt = args.indexOf("--orders");
    const orders = ordersAt >= 0 ? Number(args[ordersAt + 1]) : undefined;
    if (orders !== undefined && !(Number.isInteger(orders) && orders > 0)) throw new Error(`--orders: expected a positive whole number, got ${args[ordersAt + 1]}`);
    console.log("bench: laying out a fresh legacy PostgreSQL site in the sandbox");
    const inventory = await freshLegacyPostgres(orders);
    const pg = inventory.postgres!;
    let stack: Stack = await postgresStack("bench-postgres", { primary: "h1" });
    if (await hasResources(stack)) {
        // The state of an earlier run describes a site that was just laid out anew: forget it.
        await stack.workspace.removeStack("bench-postgres", { force: true });
        stack = await postgresStack("bench-postgres", { primary: "h1" });
    }
    let db = { host: inventory.vip!.address, port: 5432, database: pg.database, user: pg.appUser, password: postgresAppPassword(inventory) };
    const log = (line: string) => process.stdout.write(`  | ${line}`);

    async function measured(label: string, run: () => Promise<void>): Promise<PgRunFigures> {
        const w = { ...db, label: `bench-${label}-${Date.now()}` };
        const { report, totalS } = await measureWithClient(startPgWriter({ ...w, intervalMs: 10 }), run);
        const verified = await verifyPgWrites(w, report);
        const figures = {
            write_gap_ms: Math.round(report.writeGapMs),
            lost_commits: verified.lostCommits,
            total_s: totalS,
            commits: report.attempts,
            acknowledged: report.acknowledged,
        };
        console.log(`bench: ${label}: ${JSON.stringify(figures)}`);
        return figures;
    }
    const up = async () => {
        const r = await stack.up({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi up: ${r.summary.result}`);
    };

    const standby_build = await measured("standby_build", up);
    await patchPostgresConfig(stack, { primary: "h2" });
    const switchover = await measured("switchover", up);
    await patchPostgresConfig(stack, { primary: "h1" });
    const switch_back = await measured("switch_back", up);
    const standby_removal = await measured("standby_removal", async () => {
        const r = await stack.destroy({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi destroy: ${r.summary.result}`);
    });

    // The major upgrade: the way back of a failed one first (a column type pg_upgrade refuses), then one that succeeds.
    const sql = async (host: string, statement: string) => {
        const r = await exec(host, `runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h /var/run/postgresql -d postgres -X -q -v ON_ERROR_STOP=1 -c "${statement}"`);
        if (r.code !== 0) throw new Error(`${host}: ${statement}: ${r.stderr.trim()}`);
    };
    const destroy = async () => {
        const r = await stack.destroy({ onOutput: log });
        if (r.summary.result !== "succeeded") throw new Error(`pulumi destroy: ${r.summary.result}`);
    };
    const upgrade = { version: "16", binDir: postgresBinDir("16") };
    await up();
    const query = async (host: string, statement: string): Promise<string> => {
        const r = await exec(host, `runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h /var/run/postgresql -d postgres -X -At -v ON_ERROR_STOP=1 -c "${statement}"`);
        if (r.code !== 0) throw new Error(`${host}: ${statement}: ${r.stderr.trim()}`);
        return r.stdout.trim();
    };
    const blocker = await breakUpgradeAfterCheck("h1", String((postgresSandboxConfig()["middleware:postgres"] as { dataDir: string }).dataDir), query);
    await patchPostgresConfig(stack, { upgrade });
    const major_rollback = await measured("major_rollback", async () => {
        const failed = await stack.up({ onOutput: log }).then(() => false, () => true);
        if (!failed) throw new Error("the upgrade meant to fail succeeded");
    });
    await sql("h2", `DROP TABLE ${blocker}`);
    await destroy();
    await patchPostgresConfig(stack, { upgrade: undefined });
    await up();
    await patchPostgresConfig(stack, { upgrade });
    const major_upgrade = await measured("major_upgrade", up);
    // Going back loses what 16 took since: the operator says so, as the refusal tells them to.
    await exec("h1", `touch ${DEFAULT_STATE_DIR}/steps/postgres/${POSTGRES_STEPS.masterUpgrade}/${DISCARD_FILE}`);
    await destroy();

    // The minor roll needs the site on the older minor: laid out anew on 15.17.
    console.log("bench: laying out the legacy PostgreSQL site anew on the 15.17 server");
    const minorSite = await freshLegacyPostgres(orders, "15.17");
    // A site laid out anew has a new application password.
    db = { ...db, password: postgresAppPassword(minorSite) };
    await stack.workspace.removeStack("bench-postgres", { force: true });
    stack = await postgresStack("bench-postgres", { primary: "h1" });
    await up();
    await patchPostgresConfig(stack, { upgrade: { version: "15", binDir: LEGACY_POSTGRES.binDir } });
    const minor_upgrade = await measured("minor_upgrade", up);
    await destroy();
    console.log(JSON.stringify({
        topology: "postgres",
        database_mb: Math.round(pg.databaseBytes / 1048576),
        seed_s: Number(pg.seedSeconds.toFixed(1)),
        standby_build, switchover, switch_back, standby_removal,
        minor_upgrade, major_upgrade, major_rollback,
    }));
}
