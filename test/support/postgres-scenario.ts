/**
 * A PostgreSQL scenario through the real engine: the sandbox's legacy site (primary h1 with the
 * seeded database behind the keepalived VIP, h2 and h3 empty), a stack of the site program for
 * it, a client committing through the VIP, and what the engine tests read on the hosts.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { exec, Inventory } from "../../sandbox";
import { forgetStack, projectRoot } from "../../tools/engine";
import { freshLegacyPostgres, patchPostgresConfig, postgresAppPassword, postgresStack } from "../../tools/postgres-site";
import { PgWriterReport, startPgWriter, verifyPgWrites } from "../../bench/pg-writer";
import { sh } from "../../lib/core/shell";
import { storyOf } from "./journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "./tree";
import { vipHolders } from "./redis";
import { ScenarioFigures } from "./scenario-figures";

/** The site program's project, and the component's name in it. */
export const PROJECT = "middleware";
export const COMPONENT = "postgres";
export const MASTER = "h1";
export const STANDBY = "h2";
export const HOSTS = [MASTER, STANDBY] as const;
/** The third host of the site, the spare of the tests that configure one. */
export const SPARE = "h3";
export const DATA_DIR = "/app/pgsql/data";
const BIN = "/usr/lib/postgresql/15/bin";
/** The master's configuration a standby build and removal must leave byte for byte. */
export const MASTER_CONFIG = [
    `${DATA_DIR}/postgresql.conf`, `${DATA_DIR}/pg_hba.conf`, `${DATA_DIR}/pg_ident.conf`, `${DATA_DIR}/postgresql.auto.conf`,
    "/etc/keepalived/keepalived.conf", "/etc/keepalived/check_pg.sh", "/etc/init.d/postgresql", "/etc/init.d/keepalived",
];

let scenarios = 0;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SQL as the postgres account on a host's cluster; returns the unaligned output. */
export async function psqlOn(host: string, sql: string): Promise<string> {
    const r = await exec(host, sh`runuser -u postgres -- ${`${BIN}/psql`} -h /var/run/postgresql -d postgres -X -At -v ON_ERROR_STOP=1 -c ${sql}`);
    if (r.code !== 0) throw new Error(`psql on ${host}: ${sql}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** One test file's run of scenarios on the PostgreSQL site. */
export class PostgresScenario extends ScenarioFigures {
    inv!: Inventory;
    password = "";
    vip = "";
    stack: Stack | undefined;
    stackName = "";


    /** A fresh legacy site (unless one is up and untouched) and a new stack for it. */
    async fresh(label: string, patch: Record<string, unknown> = {}, server?: string, orders?: number): Promise<void> {
        const started = Date.now();
        this.inv = await freshLegacyPostgres(orders, server);
        this.password = postgresAppPassword(this.inv);
        this.vip = this.inv.vip!.address;
        this.stackName = `test-postgres-${process.pid}-${++scenarios}`;
        this.stack = await postgresStack(this.stackName, patch);
        this.note(`${label}: fresh legacy site in ${((Date.now() - started) / 1000).toFixed(1)} s (${this.inv.postgres!.orders} orders, ` +
            `${Math.round(this.inv.postgres!.databaseBytes / 1048576)} MB seeded in ${this.inv.postgres!.seedSeconds.toFixed(1)} s)`);
    }

    async setPrimary(host: string): Promise<void> {
        await patchPostgresConfig(this.stack!, { primary: host });
    }


    /** The journal lines of the component since `op` began, without readiness polls, as `host step direction outcome`. */
    journalOf(op: () => Promise<void>, hosts: readonly string[] = HOSTS): Promise<string[]> {
        return storyOf(hosts, COMPONENT, op);
    }

    /** Runs `op` while a client commits through the VIP every 10 ms (from 1 s before to 1 s after); asserts no acknowledged commit is lost. */
    async withWriter(label: string, op: () => Promise<void>): Promise<{ report: PgWriterReport; lost: number }> {
        const db = { host: this.vip, port: 5432, database: this.inv.postgres!.database, user: this.inv.postgres!.appUser, password: this.password, label: `${label}-${Date.now()}` };
        const writer = startPgWriter({ ...db, intervalMs: 10 });
        let report: PgWriterReport;
        try {
            await sleep(1000);
            await op();
            await sleep(1000);
        } finally {
            report = await writer.stop();
        }
        const verified = await verifyPgWrites(db, report);
        this.note(`${label}: write gap ${Math.round(report.writeGapMs)} ms, ${report.acknowledged}/${report.attempts} commits acknowledged, ${verified.lostCommits} lost` +
            `${Object.keys(report.failures).length ? `, failures ${JSON.stringify(report.failures)}` : ""}`);
        assert.equal(verified.lostCommits, 0, `${label}: acknowledged commits lost`);
        assert.ok(verified.unacknowledgedPresent <= report.inDoubt, `${label}: ${verified.unacknowledgedPresent} unacknowledged rows present, only ${report.inDoubt} in doubt`);
        return { report, lost: verified.lostCommits };
    }

    async masterConfig(): Promise<TreeSnapshot> {
        return treeSnapshot(MASTER, MASTER_CONFIG);
    }

    assertSameConfig(before: TreeSnapshot, now: TreeSnapshot, what: string): void {
        assert.deepEqual(treeDiff(before, now), {}, `${what}: the master's configuration differs`);
    }

    /** Asserts `primary` serves writes behind the VIP and `standby` streams from it with replay caught up. */
    async assertPair(primary: string, standby: string, what: string): Promise<void> {
        assert.equal(await psqlOn(primary, "SELECT pg_is_in_recovery()"), "f", `${what}: ${primary} is the primary`);
        assert.equal(await psqlOn(standby, "SELECT pg_is_in_recovery()"), "t", `${what}: ${standby} is a standby`);
        const address = this.inv.hosts.find((h) => h.name === primary)!.address;
        let receiver = "";
        for (let i = 0; i < 100 && receiver !== `streaming ${address}`; i++) {
            if (i > 0) await sleep(100);
            receiver = await psqlOn(standby, "SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver");
        }
        assert.equal(receiver, `streaming ${address}`, `${what}: ${standby} streams from ${primary}`);
        // The runbook's "check master"/"check standby": the same position after some traffic.
        const lsn = await psqlOn(primary, "SELECT pg_current_wal_lsn()");
        let replayed = "";
        for (let i = 0; i < 100; i++) {
            replayed = await psqlOn(standby, `SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '${lsn}') >= 0`);
            if (replayed === "t") break;
            await sleep(100);
        }
        assert.equal(replayed, "t", `${what}: ${standby} replayed up to ${lsn}`);
        assert.deepEqual(await vipHolders(["h1", "h2", "h3"], this.vip), [primary], `${what}: the VIP is on ${primary}`);
    }

    /** Asserts the site is as laid out: h1 the only primary, no replication account or slot, h2 without a cluster. */
    async assertLegacy(what: string): Promise<void> {
        assert.equal(await psqlOn(MASTER, "SELECT pg_is_in_recovery()"), "f", `${what}: ${MASTER} is the primary`);
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'"), "0", `${what}: no replication account`);
        assert.equal(await psqlOn(MASTER, "SELECT count(*) FROM pg_replication_slots"), "0", `${what}: no slot`);
        for (const host of [STANDBY, SPARE]) {
            assert.equal((await exec(host, `test -e ${DATA_DIR} || test -e /app/pgsql`)).code, 1, `${what}: ${host} has no cluster`);
            assert.equal((await exec(host, "pgrep -x keepalived || pgrep -x postgres")).code, 1, `${what}: nothing runs on ${host}`);
        }
        assert.deepEqual(await vipHolders(["h1", "h2", "h3"], this.vip), [MASTER], `${what}: the VIP is on ${MASTER}`);
    }

    /** Forgets the stack (its state files too). */
    async dropStack(): Promise<void> {
        if (!this.stack) return;
        await forgetStack(this.stack, PROJECT, this.stackName, path.join(projectRoot, "stacks"));
        this.stack = undefined;
    }

}
