import * as fs from "fs";
import * as path from "path";
import { HOST_INTERFACE, hostPaths, SandboxSettings, statePaths, vipAddress } from "../config";
import { progress } from "../progress";
import {
    LEGACY_POSTGRES as L,
    postgresqlConfAdditions,
    renderKeepalivedCheck,
    renderKeepalivedConf,
    renderKeepalivedInit,
    renderPgHba,
    renderPostgresInit,
    seedSql,
} from "./postgres-files";
import { Site, SiteContext } from "./site";
import { postgresBinDir } from "./postgres-versions";

/** The PostgreSQL server builds the site can run: Debian's, and the npm package's older 15 minor. */
export const LEGACY_POSTGRES_SERVERS = { "15.18": L.binDir, "15.17": postgresBinDir("15.17") } as const;

/** The server bin directory of `version` ("15.18", Debian's, or "15.17"); throws naming those there are. */
export function legacyPostgresServer(version: string): string {
    const dir = (LEGACY_POSTGRES_SERVERS as Record<string, string>)[version];
    if (!dir) throw new Error(`PostgreSQL ${JSON.stringify(version)} is not a server of the legacy-postgres site; it offers ${Object.keys(LEGACY_POSTGRES_SERVERS).join(", ")}`);
    return dir;
}
import { ensureSecretFile, putOnHost, waitForVip } from "./site-files";

/** The site's name, as `up --site` takes it. */
export const LEGACY_POSTGRES_SITE = "legacy-postgres";
const SITE = LEGACY_POSTGRES_SITE;
/** Orders in the default data set: about 300 MB of tables and indexes. */
export const DEFAULT_POSTGRES_ORDERS = 1_500_000;

/** The file holding the application user's password (mode 0600), made once per sandbox. */
export function postgresAppPasswordFile(s: SandboxSettings): string {
    return path.join(statePaths(s).siteDir, "postgres-app.password");
}

async function must(ctx: SiteContext, host: string, cmd: string, input?: string): Promise<string> {
    const r = await ctx.exec(host, cmd, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${host}: ${cmd.slice(0, 120)} failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
    return r.stdout;
}

const psql = (db = "postgres") => `runuser -u postgres -- ${L.binDir}/psql -h ${L.socketDir} -p ${L.port} -d ${db} -v ON_ERROR_STOP=1 -X -q`;

/** initdb, the hand-edited configuration, the application user and the seeded database on the primary. */
async function createPrimary(ctx: SiteContext, host: string, password: string, orders: number, serverBinDir: string): Promise<{ seedSeconds: number; bytes: number }> {
    await must(ctx, host, `mkdir -p ${path.dirname(L.dataDir)} && chown postgres:postgres ${path.dirname(L.dataDir)} && mkdir -p /var/log/postgresql && chown postgres:postgres /var/log/postgresql`);
    await must(ctx, host, `runuser -u postgres -- ${serverBinDir}/initdb -D ${L.dataDir} --data-checksums -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null`);
    await must(ctx, host, `cat >>${L.dataDir}/postgresql.conf`, postgresqlConfAdditions());
    await must(ctx, host, `cat >${L.dataDir}/pg_hba.conf`, renderPgHba());
    await must(ctx, host, "service postgresql start");
    // The password goes on stdin, inside the SQL psql reads, never on a command line.
    await must(ctx, host, psql(), `CREATE ROLE ${L.appUser} LOGIN PASSWORD '${password}';\nCREATE DATABASE ${L.database} OWNER ${L.appUser};\n`);
    progress(`legacy-postgres: seeding ${L.database} on ${host} with ${orders} orders (server-side generate_series)`);
    const started = Date.now();
    await must(ctx, host, `${psql(L.database)} -f -`, `SET ROLE ${L.appUser};\n${seedSql(orders)}\nRESET ROLE;\nCHECKPOINT;\n`);
    const seedSeconds = (Date.now() - started) / 1000;
    const bytes = Number((await must(ctx, host, `${psql()} -At -c "SELECT pg_database_size('${L.database}')"`)).trim());
    progress(`legacy-postgres: seeded in ${seedSeconds.toFixed(1)} s, ${L.database} is ${(bytes / 1048576).toFixed(0)} MB`);
    return { seedSeconds, bytes };
}

/**
 * A PostgreSQL 15 primary on h1 with a seeded application database (about 300 MB by default),
 * its clients reaching it through a keepalived VIP; h2 and h3 with the same PostgreSQL
 * installed, keepalived's init script in place and nothing configured: the machines the
 * runbook builds standbys on.
 */
export const legacyPostgres: Site = {
    name: SITE,
    minHosts: 3,

    async layOut(ctx, previous) {
        const s = ctx.settings;
        const [primary, ...others] = ctx.hosts;
        const password = ensureSecretFile(postgresAppPasswordFile(s));
        const orders = ctx.dataset.keys ?? (previous?.orders as number | undefined) ?? DEFAULT_POSTGRES_ORDERS;
        const server = (previous?.server as string | undefined) ?? ctx.postgresVersion ?? "15.18";
        if (ctx.postgresVersion !== undefined && ctx.postgresVersion !== server) {
            throw new Error(`the site runs PostgreSQL ${server}; to lay it out on ${ctx.postgresVersion}, run down first`);
        }
        const serverBinDir = legacyPostgresServer(server);
        if (previous?.orders !== undefined && orders !== previous.orders) {
            throw new Error(`the site holds a data set of ${previous.orders} orders; to load another, run down first`);
        }
        for (const host of ctx.hosts) {
            const hp = hostPaths(s, host);
            if (fs.existsSync(hp.siteMarker)) continue;
            putOnHost(s, host, L.initScript, renderPostgresInit(serverBinDir), 0o755);
            putOnHost(s, host, L.keepalivedInit, renderKeepalivedInit(), 0o755);
            if (host === primary) {
                putOnHost(s, host, L.keepalivedConfig, renderKeepalivedConf(host, vipAddress(s), HOST_INTERFACE), 0o644);
                putOnHost(s, host, L.keepalivedCheck, renderKeepalivedCheck(), 0o755);
                fs.writeFileSync(hp.bootServices, "postgresql\nkeepalived\n");
            }
            fs.writeFileSync(hp.siteMarker, SITE + "\n");
        }
        if (previous?.orders === undefined) {
            const seeded = await createPrimary(ctx, primary, password, orders, serverBinDir);
            await must(ctx, primary, "service keepalived start");
            await waitForVip(ctx, primary);
            progress(`legacy-postgres: PostgreSQL ${server} primary on ${primary} behind VIP ${vipAddress(s)}; ${others.join(", ")} empty`);
            return { orders, seedSeconds: seeded.seedSeconds, databaseBytes: seeded.bytes, server };
        }
        // Laid out before: a test or a migration may have changed it since, so report, never rewrite.
        const r = await ctx.exec(primary, `runuser -u postgres -- ${L.binDir}/pg_isready -q -h ${L.socketDir} -p ${L.port}`);
        if (r.code !== 0) progress(`warning: legacy-postgres: PostgreSQL on ${primary} does not answer; left as it is`);
        return previous;
    },

    inventory(ctx, facts) {
        const s = ctx.settings;
        return {
            vip: { address: vipAddress(s), prefixLength: 24, interface: HOST_INTERFACE, virtualRouterId: L.virtualRouterId },
            postgres: {
                version: L.version,
                server: (facts.server as string | undefined) ?? "15.18",
                binDir: legacyPostgresServer((facts.server as string | undefined) ?? "15.18"),
                clientBinDir: L.binDir,
                dataDir: L.dataDir,
                socketDir: L.socketDir,
                port: L.port,
                primary: ctx.hosts[0],
                spares: ctx.hosts.slice(1),
                database: L.database,
                appUser: L.appUser,
                appPasswordFile: postgresAppPasswordFile(s),
                orders: facts.orders as number,
                databaseBytes: facts.databaseBytes as number,
                seedSeconds: facts.seedSeconds as number,
            },
        };
    },
};
