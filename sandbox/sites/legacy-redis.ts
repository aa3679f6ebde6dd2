import * as fs from "fs";
import * as path from "path";
import { HOST_INTERFACE, hostAddress, hostPaths, SandboxSettings, statePaths, vipAddress } from "../config";
import { hostFileOnRoot } from "../host-fs";
import { progress } from "../progress";
import { RunResult, waitFor } from "../run";
import { datasetStream, DEFAULT_DATASET_KEYS, DEFAULT_DATASET_SEED } from "./redis-dataset";
import {
    LEGACY_REDIS as L,
    RedisHostConfig,
    renderKeepalivedCheck,
    renderKeepalivedConf,
    renderKeepalivedInit,
    renderRedisConf,
    renderRedisInit,
} from "./redis-files";
import { DEBIAN_REDIS_BIN_DIR, DEBIAN_REDIS_VERSION, redisBinDir, redisServerVersion } from "./redis-versions";
import { Site, SiteContext } from "./site";
import { ensureSecretFile, putOnHost, waitForVip } from "./site-files";

/** The site's name, as `up --site` takes it. */
export const LEGACY_REDIS_SITE = "legacy-redis";
const SITE = LEGACY_REDIS_SITE;
const BOOT_SERVICES = ["redis", "keepalived"];

/** The file holding the pair's password (mode 0600), made once per sandbox. */
export function redisPasswordFile(s: SandboxSettings): string {
    return path.join(statePaths(s).siteDir, "redis.password");
}

function copyBinary(s: SandboxSettings, host: string, from: string, hostPath: string): void {
    const file = hostFileOnRoot(s, host, hostPath);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.copyFileSync(fs.realpathSync(from), file);
    fs.chmodSync(file, 0o755);
}

/** Writes one host's hand-installed layout from `binDir`; skipped when the host already carries the site. */
function layOutHost(s: SandboxSettings, c: RedisHostConfig, binDir: string): void {
    const hp = hostPaths(s, c.host);
    if (fs.existsSync(hp.siteMarker)) return;
    copyBinary(s, c.host, path.join(binDir, "redis-server"), L.serverBin);
    copyBinary(s, c.host, path.join(binDir, "redis-cli"), L.cliBin);
    copyBinary(s, c.host, "/usr/sbin/keepalived", L.keepalivedBin);
    fs.mkdirSync(hostFileOnRoot(s, c.host, L.dataDir), { recursive: true, mode: 0o755 });
    fs.mkdirSync(hostFileOnRoot(s, c.host, L.logDir), { recursive: true, mode: 0o755 });
    putOnHost(s, c.host, L.config, renderRedisConf(c), 0o640);
    putOnHost(s, c.host, L.initScript, renderRedisInit(), 0o755);
    putOnHost(s, c.host, L.keepalivedConfig, renderKeepalivedConf(c), 0o644);
    putOnHost(s, c.host, L.keepalivedCheck, renderKeepalivedCheck(), 0o755);
    putOnHost(s, c.host, L.keepalivedInit, renderKeepalivedInit(), 0o755);
    fs.writeFileSync(hp.bootServices, BOOT_SERVICES.join("\n") + "\n");
    fs.writeFileSync(hp.siteMarker, SITE + "\n");
}

/** redis-cli on a host, authenticated with the password sent on stdin. */
function redisCli(ctx: SiteContext, host: string, password: string, args: string): Promise<RunResult> {
    return ctx.exec(host, `read -r REDISCLI_AUTH; export REDISCLI_AUTH; exec ${L.cliBin} -h 127.0.0.1 -p ${L.port} ${args}`, {
        input: password + "\n",
    });
}

async function startService(ctx: SiteContext, host: string, service: string): Promise<void> {
    const r = await ctx.exec(host, `service ${service} start`);
    if (r.code !== 0) throw new Error(`${host}: service ${service} start failed: ${(r.stderr || r.stdout).trim()}`);
}

async function loadDataset(ctx: SiteContext, master: string, password: string, keys: number, seed: number): Promise<void> {
    progress(`loading data set into ${master}: ${keys} keys (seed ${seed})`);
    const started = Date.now();
    const stream = datasetStream(keys, seed, password, (n) => progress(`  ${n}/${keys} keys sent`));
    const r = await ctx.exec(master, `exec ${L.cliBin} -h 127.0.0.1 -p ${L.port} --pipe`, { input: stream });
    const m = /errors: (\d+), replies: (\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m || m[1] !== "0") throw new Error(`loading the data set failed: ${(r.stdout + r.stderr).trim().slice(-500)}`);
    progress(`data set loaded in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

async function dbsize(ctx: SiteContext, host: string, password: string): Promise<number> {
    const r = await redisCli(ctx, host, password, "dbsize");
    return r.code === 0 && /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : NaN;
}

/** Waits until the slave's link is up and it holds as many keys as the master. */
async function waitForReplica(ctx: SiteContext, master: string, slave: string, password: string): Promise<void> {
    let last = "";
    const ok = await waitFor(async () => {
        const info = await redisCli(ctx, slave, password, "info replication");
        const [m, sl] = [await dbsize(ctx, master, password), await dbsize(ctx, slave, password)];
        last = `${/master_link_status:\w+/.exec(info.stdout)?.[0] ?? info.stderr.trim()}, master ${m} keys, slave ${sl} keys`;
        return info.stdout.includes("master_link_status:up") && m === sl;
    }, 120_000, 500);
    if (!ok) throw new Error(`${slave} did not catch up with the master: ${last}`);
}

/** The Redis version of a laid-out site and where its binaries came from. */
interface SiteRedis {
    readonly redisVersion: string;
    readonly redisBinDir: string;
}

/**
 * Which Redis the site runs: the one it already runs (a record from before versions were
 * recorded means Debian's), else the requested one, else Debian's as its binary reports it.
 * A request for another version than the running one fails: the data set and the runbook's
 * paths belong to the running pair.
 */
async function chooseRedis(requested: string | undefined, previous: Record<string, unknown> | undefined): Promise<SiteRedis> {
    if (previous !== undefined) {
        const running: SiteRedis = {
            redisVersion: (previous.redisVersion as string | undefined) ?? DEBIAN_REDIS_VERSION,
            redisBinDir: (previous.redisBinDir as string | undefined) ?? DEBIAN_REDIS_BIN_DIR,
        };
        if (requested !== undefined && requested !== running.redisVersion) {
            throw new Error(`the site runs Redis ${running.redisVersion}, not ${requested}; to lay it out on Redis ${requested}, run down first`);
        }
        return running;
    }
    const binDir = redisBinDir(requested ?? DEBIAN_REDIS_VERSION);
    const reported = await redisServerVersion(path.join(binDir, "redis-server"));
    if (requested !== undefined && reported !== requested) {
        throw new Error(`${binDir}/redis-server reports Redis ${reported}, not ${requested}`);
    }
    return { redisVersion: reported, redisBinDir: binDir };
}

/**
 * The Redis master/slave pair with keepalived as the runbook found it: master on h1, slave on
 * h2, password-protected, the VIP on the master, and a reproducible data set replicated. The
 * binaries are Debian's, or those of `redisVersion` (see redis-versions.ts).
 */
export const legacyRedis: Site = {
    name: SITE,
    minHosts: 2,

    async layOut(ctx, previous) {
        const s = ctx.settings;
        const [master, slave] = ctx.hosts;
        const loaded = previous?.datasetKeys as number | undefined;
        const redis = await chooseRedis(ctx.redisVersion, loaded === undefined ? undefined : previous);
        const password = ensureSecretFile(redisPasswordFile(s));
        const keys = ctx.dataset.keys ?? loaded ?? DEFAULT_DATASET_KEYS;
        const seed = ctx.dataset.seed ?? (previous?.datasetSeed as number | undefined) ?? DEFAULT_DATASET_SEED;
        if (loaded !== undefined && (keys !== loaded || seed !== previous?.datasetSeed)) {
            throw new Error(`the site holds a data set of ${loaded} keys (seed ${previous?.datasetSeed}); to load another, run down first`);
        }
        const facts = { datasetKeys: keys, datasetSeed: seed, ...redis };
        for (const [host, role] of [[master, "master"], [slave, "slave"]] as const) {
            layOutHost(s, {
                host,
                role,
                masterAddress: hostAddress(s, master),
                password,
                vip: vipAddress(s),
                interface: HOST_INTERFACE,
                redisVersion: redis.redisVersion,
            }, redis.redisBinDir);
        }
        if (loaded === undefined) {
            for (const service of BOOT_SERVICES) {
                for (const host of [master, slave]) await startService(ctx, host, service);
            }
            await loadDataset(ctx, master, password, keys, seed);
            const n = await dbsize(ctx, master, password);
            if (n !== keys) throw new Error(`${master} holds ${n} keys after loading ${keys}`);
            await waitForReplica(ctx, master, slave, password);
            await waitForVip(ctx, master);
        } else {
            // Already laid out: a test or a migration may have changed it since, so only start
            // what is stopped and report, never fail or rewrite.
            const legacyCli = await ctx.exec(master, `test -x ${L.cliBin}`);
            if (legacyCli.code !== 0) {
                progress(`legacy-redis: ${L.cliBin} is gone on ${master} (migrated, or half way): left as it is`);
                return facts;
            }
            try {
                for (const service of BOOT_SERVICES) {
                    for (const host of [master, slave]) await startService(ctx, host, service);
                }
                await waitForReplica(ctx, master, slave, password);
                await waitForVip(ctx, master);
            } catch (e) {
                progress(`warning: legacy-redis is not as laid out: ${(e as Error).message}`);
                return facts;
            }
        }
        progress(`legacy-redis: Redis ${redis.redisVersion}, master ${master}, slave ${slave} in sync (${keys} keys), VIP ${vipAddress(s)} on ${master}`);
        return facts;
    },

    inventory(ctx, facts) {
        const s = ctx.settings;
        return {
            vip: { address: vipAddress(s), prefixLength: 24, interface: HOST_INTERFACE, virtualRouterId: L.virtualRouterId },
            redis: {
                version: (facts.redisVersion as string | undefined) ?? DEBIAN_REDIS_VERSION,
                binariesFrom: (facts.redisBinDir as string | undefined) ?? DEBIAN_REDIS_BIN_DIR,
                port: L.port,
                master: ctx.hosts[0],
                slave: ctx.hosts[1],
                passwordFile: redisPasswordFile(s),
                config: L.config,
                installDir: L.installDir,
                dataDir: L.dataDir,
                initScript: L.initScript,
                keepalivedInstallDir: L.keepalivedInstallDir,
                keepalivedConfig: L.keepalivedConfig,
                datasetKeys: facts.datasetKeys as number,
                datasetSeed: facts.datasetSeed as number,
            },
        };
    },
};
