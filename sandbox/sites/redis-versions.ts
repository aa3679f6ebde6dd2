import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostOwnDirOf } from "../config";
import { withPidLock } from "../lock";
import { progress } from "../progress";
import { run } from "../run";
import { middlewareCacheDir } from "./kafka-jars";
import { mavenErrors, runMaven } from "./maven";
import { readZipEntry } from "./zip-entry";

/*
 * Redis servers besides Debian's, for what needs two versions of one RDB format on the hosts:
 * a rolling patch upgrade 6.2.7 <-> 6.2.11 (both write RDB version 9; Debian's 7.0 writes 10),
 * and a legacy site on 6.2. Neither version is a Debian package; both are linux-amd64 builds
 * that Java projects ship inside jars on Maven Central to start Redis from tests.
 */

/** Debian bookworm's `redis-server`, the sandbox's default Redis. */
export const DEBIAN_REDIS_VERSION = "7.0.15";
/** Where Debian's Redis binaries are, on the machine and on every host. */
export const DEBIAN_REDIS_BIN_DIR = "/usr/bin";

/** One Redis server binary taken out of a jar. */
export interface RedisServerBuild {
    /** The jar's Maven coordinates, `group:artifact:version`. */
    readonly jar: string;
    /** The jar entry holding the linux-amd64 server. */
    readonly entry: string;
    /** sha256 of that entry: the binary the sandbox was verified with. */
    readonly sha256: string;
    /** How it is built, for operators. */
    readonly build: string;
}

/**
 * The Redis versions the sandbox provides besides Debian's {@link DEBIAN_REDIS_VERSION}, by
 * the version `redis-server --version` reports. 6.2.11's entry is named 6.2.6-v5 in its jar,
 * but the binary is 6.2.11.
 */
export const SANDBOX_REDIS_VERSIONS = {
    "6.2.7": {
        jar: "org.signal:embedded-redis:0.8.3",
        entry: "redis-server-6.2.7-linux-amd64",
        sha256: "3671ca7ffc7782567d9feda69ebe5939d8c875641490f12145ff6b69bd1c630a",
        build: "static, libc malloc, TLS built in",
    },
    "6.2.11": {
        jar: "com.github.codemonstur:embedded-redis:1.4.3",
        entry: "redis-server-6.2.6-v5-linux-amd64",
        sha256: "1f716094e08a25faee2bc7626feb9e13464ed89018ac5c376c5e9cff06bdcf52",
        build: "dynamic (libc, libssl3, libcrypto3), jemalloc, TLS built in",
    },
} as const satisfies Readonly<Record<string, RedisServerBuild>>;

/** A version from {@link SANDBOX_REDIS_VERSIONS}. */
export type SandboxRedisVersion = keyof typeof SANDBOX_REDIS_VERSIONS;

/**
 * Where the versions are published for the hosts: `<root>/<version>/bin`. Shared by every host
 * (see kafka-jars' JARS_PUBLISH_ROOT); treat it as read-only.
 */
export const REDIS_PUBLISH_ROOT = "/opt/middleware-redis";

/** Pinned so the fetch does not depend on Maven's default plugin version (as for the jars). */
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1";

/** Every Redis version the sandbox offers, Debian's first. */
export function redisVersions(): string[] {
    return [DEBIAN_REDIS_VERSION, ...Object.keys(SANDBOX_REDIS_VERSIONS)];
}

/** Whether `version` is one of {@link SANDBOX_REDIS_VERSIONS}. */
export function isSandboxRedisVersion(version: string): version is SandboxRedisVersion {
    return Object.prototype.hasOwnProperty.call(SANDBOX_REDIS_VERSIONS, version);
}

/**
 * The directory holding `redis-server` and `redis-cli` of `version`, the same path on the
 * machine and on every host: {@link DEBIAN_REDIS_BIN_DIR} for Debian's, else
 * `<publishRoot>/<version>/bin` (filled by {@link ensureRedisVersions}).
 * @throws for a version the sandbox does not offer, listing those it does
 */
export function redisBinDir(version: string, publishRoot: string = REDIS_PUBLISH_ROOT): string {
    if (version === DEBIAN_REDIS_VERSION) return DEBIAN_REDIS_BIN_DIR;
    if (isSandboxRedisVersion(version)) return path.join(publishRoot, version, "bin");
    throw new Error(`Redis ${JSON.stringify(version)} is not in the sandbox; it offers ${DEBIAN_REDIS_VERSION} (Debian's) and ` +
        `${Object.keys(SANDBOX_REDIS_VERSIONS).join(", ")} (from Maven Central)`);
}

/** The version a `redis-server --version` line reports (`v=6.2.7`), or undefined. */
export function reportedRedisVersion(versionLine: string): string | undefined {
    return /\bv=(\d+\.\d+\.\d+)\b/.exec(versionLine)?.[1];
}

/** Runs `<bin>/redis-server --version` and returns the version it reports; throws saying why not. */
export async function redisServerVersion(server: string): Promise<string> {
    const r = await run(server, ["--version"]).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    const v = r.code === 0 ? reportedRedisVersion(r.stdout) : undefined;
    if (!v) throw new Error(`${server} --version failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
    return v;
}

/** Options of {@link ensureRedisVersions}. */
export interface RedisVersionsOptions {
    /** @default - `$PULUMI_MIDDLEWARE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/pulumi-middleware` */
    readonly cacheDir?: string;
    /** @default {@link REDIS_PUBLISH_ROOT} */
    readonly publishRoot?: string;
}

/** Where the cache keeps the Redis builds. */
export interface RedisVersionsLayout {
    /** `<cache>/redis`: pom.xml, mvn.log, the jars, the servers, Maven's own local repository (`m2`). */
    readonly cacheDir: string;
    /** The verified server of each version in the cache, `<cache>/redis/servers/<version>/redis-server`. */
    readonly cachedServer: Readonly<Record<SandboxRedisVersion, string>>;
    /** `<publishRoot>/<version>/bin` of each version: `redis-server`, `redis-cli`, `redis-check-rdb`. */
    readonly binDir: Readonly<Record<SandboxRedisVersion, string>>;
}

/** The paths of the Redis builds, without fetching anything. */
export function redisVersionsLayout(opts: RedisVersionsOptions = {}): RedisVersionsLayout {
    const cacheDir = path.join(opts.cacheDir ?? middlewareCacheDir(), "redis");
    const each = (f: (v: SandboxRedisVersion) => string) =>
        Object.fromEntries(Object.keys(SANDBOX_REDIS_VERSIONS).map((v) => [v, f(v as SandboxRedisVersion)])) as Record<SandboxRedisVersion, string>;
    return {
        cacheDir,
        cachedServer: each((v) => path.join(cacheDir, "servers", v, "redis-server")),
        binDir: each((v) => redisBinDir(v, opts.publishRoot ?? REDIS_PUBLISH_ROOT)),
    };
}

const sha256 = (b: Buffer | string) => crypto.createHash("sha256").update(b).digest("hex");
const fileSha256 = (file: string) => {
    try {
        return sha256(fs.readFileSync(file));
    } catch {
        return undefined;
    }
};

/**
 * Makes {@link SANDBOX_REDIS_VERSIONS} available on every host: fetches their jars from Maven
 * Central with `mvn` (a generated pom, the dependency plugin's `copy-dependencies`, strict
 * checksums) into `<cache>/redis`, takes the linux-amd64 server out of each, checks its sha256
 * and that `--version` reports the version, and publishes `redis-server`, a copy of Debian's
 * `redis-cli` (neither jar has one; 7.0's speaks to 6.2) and `redis-check-rdb` (a link to the
 * server, which checks RDB files when called by that name) under `<publishRoot>/<version>/bin`,
 * world-executable. A warm cache does nothing; a cache being filled by another process is
 * waited for.
 */
export async function ensureRedisVersions(opts: RedisVersionsOptions = {}): Promise<RedisVersionsLayout> {
    const layout = redisVersionsLayout(opts);
    const publishRoot = opts.publishRoot ?? REDIS_PUBLISH_ROOT;
    const hostOwn = hostOwnDirOf(publishRoot);
    if (hostOwn) throw new Error(`cannot publish Redis builds under ${publishRoot}: each host has its own ${hostOwn}`);
    const cliSha = fileSha256(path.join(DEBIAN_REDIS_BIN_DIR, "redis-cli"));
    if (!cliSha) throw new Error(`${DEBIAN_REDIS_BIN_DIR}/redis-cli is missing (Debian package redis-tools)`);
    const versions = Object.keys(SANDBOX_REDIS_VERSIONS) as SandboxRedisVersion[];
    const published = (v: SandboxRedisVersion) => isPublished(layout.binDir[v], v, cliSha);
    if (versions.every(published)) return layout;

    fs.mkdirSync(layout.cacheDir, { recursive: true });
    await withPidLock(path.join(layout.cacheDir, ".lock"), async () => {
        const cached = (v: SandboxRedisVersion) => fileSha256(layout.cachedServer[v]) === SANDBOX_REDIS_VERSIONS[v].sha256;
        if (!versions.every(cached)) await fetchServers(layout);
        for (const v of versions.filter((x) => !published(x))) publish(layout, v, sourceText(v, cliSha));
    }, { timeoutMs: 15 * 60 * 1000, waiting: "redis: waiting for the process filling the Redis cache" });
    return layout;
}

/**
 * Whether every version of {@link SANDBOX_REDIS_VERSIONS} is published for the hosts, as
 * {@link ensureRedisVersions} leaves them; fetches and changes nothing (tests check this
 * instead of installing).
 */
export function redisVersionsReady(opts: RedisVersionsOptions = {}): boolean {
    const layout = redisVersionsLayout(opts);
    const cliSha = fileSha256(path.join(DEBIAN_REDIS_BIN_DIR, "redis-cli"));
    return cliSha !== undefined &&
        (Object.keys(SANDBOX_REDIS_VERSIONS) as SandboxRedisVersion[]).every((v) => isPublished(layout.binDir[v], v, cliSha));
}

/** The SOURCE file of a published version: where its binaries came from. */
function sourceText(version: SandboxRedisVersion, cliSha: string): string {
    const b: RedisServerBuild = SANDBOX_REDIS_VERSIONS[version];
    return `redis-server ${version}: ${b.entry} from ${b.jar} (Maven Central), sha256 ${b.sha256}, ${b.build}\n` +
        `redis-cli: a copy of Debian's ${DEBIAN_REDIS_BIN_DIR}/redis-cli, sha256 ${cliSha}\n` +
        "redis-check-rdb: a link to redis-server\n";
}

/** Whether `binDir` holds the pinned server of `version`, Debian's redis-cli, the link, and SOURCE beside it says so. */
function isPublished(binDir: string, version: SandboxRedisVersion, cliSha: string): boolean {
    try {
        return fs.readFileSync(path.join(path.dirname(binDir), "SOURCE"), "utf8") === sourceText(version, cliSha) &&
            fileSha256(path.join(binDir, "redis-server")) === SANDBOX_REDIS_VERSIONS[version].sha256 && fileSha256(path.join(binDir, "redis-cli")) === cliSha &&
            fs.readlinkSync(path.join(binDir, "redis-check-rdb")) === "redis-server";
    } catch {
        return false;
    }
}

/** The pom whose direct dependencies are the jars, each without its own dependencies. */
function pomXml(): string {
    const deps = Object.values(SANDBOX_REDIS_VERSIONS).map(({ jar }) => {
        const [g, a, v] = jar.split(":");
        return `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>` +
            `<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions></dependency>\n`;
    }).join("");
    return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by the pulumi-middleware sandbox (sandbox/sites/redis-versions.ts): the jars
     carrying the Redis servers ${Object.keys(SANDBOX_REDIS_VERSIONS).join(" and ")}; only their linux-amd64 server is used. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.pulumi-middleware.sandbox</groupId>
  <artifactId>redis-servers</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}  </dependencies>
</project>
`;
}

/** Fetches the jars with mvn and puts each verified server in the cache. */
async function fetchServers(layout: RedisVersionsLayout): Promise<void> {
    const started = Date.now();
    const jars = Object.values(SANDBOX_REDIS_VERSIONS).map((b) => b.jar).join(", ");
    progress(`redis: fetching ${jars} from Maven Central with mvn into ${layout.cacheDir} (cold cache: ~320 files, ~42 MB with the plugin)`);
    const pomFile = path.join(layout.cacheDir, "pom.xml");
    const logFile = path.join(layout.cacheDir, "mvn.log");
    // The jars stay in Maven's repository (m2); this copy lives only until the servers are out.
    const jarDir = path.join(layout.cacheDir, `jars.tmp-${process.pid}`);
    fs.writeFileSync(pomFile, pomXml());
    try {
        const r = await runMaven([
            "-B", "-C", "-Dstyle.color=never", "-f", pomFile, `-Dmaven.repo.local=${path.join(layout.cacheDir, "m2")}`,
            `${DEPENDENCY_PLUGIN}:copy-dependencies`, "-Dmdep.prependGroupId=true", `-DoutputDirectory=${jarDir}`,
        ], layout.cacheDir, logFile, { label: "redis", what: "the Redis server jars", timeoutMs: 10 * 60 * 1000 });
        if (r.code !== 0) throw new Error(`Maven could not fetch ${jars} (mvn exit ${r.code}):\n  ${mavenErrors(r)}\npom: ${pomFile}\nfull log: ${logFile}`);
        for (const [version, build] of Object.entries(SANDBOX_REDIS_VERSIONS) as [SandboxRedisVersion, RedisServerBuild][]) {
            const [g, a, v] = build.jar.split(":");
            const jar = path.join(jarDir, `${g}.${a}-${v}.jar`);
            if (!fs.existsSync(jar)) throw new Error(`mvn finished but ${jar} is missing; see ${logFile}`);
            await extractServer(jar, build, version, layout.cachedServer[version]);
        }
        progress(`redis: servers ${Object.keys(SANDBOX_REDIS_VERSIONS).join(", ")} verified in ${layout.cacheDir}/servers after ` +
            `${((Date.now() - started) / 1000).toFixed(0)} s (${r.downloads} files downloaded)`);
    } finally {
        fs.rmSync(jarDir, { recursive: true, force: true });
    }
}

/** Takes `build`'s server out of `jar` to `target` once its sha256 and `--version` are right. */
async function extractServer(jar: string, build: RedisServerBuild, version: string, target: string): Promise<void> {
    const server = readZipEntry(jar, build.entry);
    const got = sha256(server);
    if (got !== build.sha256) throw new Error(`${build.entry} in ${build.jar} has sha256 ${got}, not the ${build.sha256} pinned in SANDBOX_REDIS_VERSIONS`);
    const tmp = `${target}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.writeFileSync(tmp, server, { mode: 0o555 });
    fs.chmodSync(tmp, 0o555);
    try {
        const reported = await redisServerVersion(tmp).catch((e: Error) => {
            throw new Error(`${build.entry} from ${build.jar} does not run here: ${e.message}`);
        });
        if (reported !== version) throw new Error(`${build.entry} from ${build.jar} reports Redis ${reported}, expected ${version}`);
        fs.renameSync(tmp, target);
    } finally {
        fs.rmSync(tmp, { force: true });
    }
}

/** Lays out `<publishRoot>/<version>/bin` from the cache and Debian's redis-cli, replacing it atomically. */
function publish(layout: RedisVersionsLayout, version: SandboxRedisVersion, source: string): void {
    const dir = path.dirname(layout.binDir[version]);
    const tmp = `${dir}.tmp-${process.pid}`;
    const bin = path.join(tmp, "bin");
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
    fs.chmodSync(path.dirname(dir), 0o755);
    try {
        fs.linkSync(layout.cachedServer[version], path.join(bin, "redis-server"));
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
        fs.copyFileSync(layout.cachedServer[version], path.join(bin, "redis-server"));
    }
    fs.copyFileSync(path.join(DEBIAN_REDIS_BIN_DIR, "redis-cli"), path.join(bin, "redis-cli"));
    for (const f of ["redis-server", "redis-cli"]) fs.chmodSync(path.join(bin, f), 0o555);
    fs.symlinkSync("redis-server", path.join(bin, "redis-check-rdb"));
    fs.writeFileSync(path.join(tmp, "SOURCE"), source, { mode: 0o444 });
    for (const d of [tmp, bin]) fs.chmodSync(d, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    progress(`redis: ${version} published on every host at ${layout.binDir[version]}`);
}
