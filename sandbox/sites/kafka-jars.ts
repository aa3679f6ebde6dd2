import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostOwnDirOf } from "../config";
import { withPidLock } from "../lock";
import { progress } from "../progress";
import { mavenErrors, runMaven } from "./maven";

/**
 * Kafka release the sandbox provides: the newest 3.9.x on Maven Central (3.9.0, 3.9.1, 3.9.2
 * are published; 4.x dropped ZooKeeper mode).
 */
export const KAFKA_VERSION = "3.9.2";
/** Scala build of the Kafka broker jar (`kafka_2.13`), as in the `kafka_2.13-3.9.2.tgz` distribution. */
export const KAFKA_SCALA = "2.13";
/**
 * The versions the runbook's site runs (`kafka_2.12-2.3.0`, `apache-zookeeper-3.5.6-bin`): the
 * legacy-kafka site installs them by hand. Kafka 2.3.0 runs on the machine's OpenJDK 17.
 */
export const LEGACY_KAFKA_JARS = { kafka: "2.3.0", scala: "2.12", zookeeper: "3.5.6" } as const;
/**
 * ZooKeeper release: the newest 3.8.x Maven Central serves completely. The metadata lists
 * 3.8.7 and its jar pom is there, but its parent pom `org.apache.zookeeper:parent:3.8.7` is
 * not, so Maven cannot resolve it.
 */
export const ZOOKEEPER_VERSION = "3.8.6";
/**
 * The jar set of a later managed version change (a ZooKeeper upgrade of a migrated site):
 * Kafka as before, ZooKeeper 3.9.5, the newest 3.9.x whose parent pom Maven Central serves
 * (3.9.6's is not).
 */
export const UPGRADE_KAFKA_JARS = { kafka: KAFKA_VERSION, zookeeper: "3.9.5" } as const;
/**
 * Logging as in Kafka 3.9's binary distribution: SLF4J 1.7 bound to reload4j (log4j 1.2 API),
 * ZooKeeper's logback left out, so both servers read a `log4j.properties`.
 */
const SLF4J_VERSION = "1.7.36";
const RELOAD4J_VERSION = "1.2.25";
/**
 * ZooKeeper 3.5's shell (`ZooKeeperMain`) needs commons-cli, which its binary distribution ships
 * in lib/ but its pom leaves out; Kafka 3.x's tools bring it along.
 */
const LEGACY_COMMONS_CLI = "1.4";
/** Pinned so the resolution does not depend on Maven's default plugin version. */
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1";

/**
 * Where the jars are published for the hosts. The hosts share the root filesystem except
 * their own dirs (see HOST_OWN_DIRS and /app), so a directory here is visible on every host,
 * already booted or not, at the same path and to every user (the cache under /root is not).
 */
export const JARS_PUBLISH_ROOT = "/opt/middleware-jars";

/** Options of {@link ensureMiddlewareJars}. */
export interface MiddlewareJarsOptions {
    /** @default {@link KAFKA_VERSION} */
    readonly kafka?: string;
    /** @default {@link ZOOKEEPER_VERSION} */
    readonly zookeeper?: string;
    /** Scala build of the broker jar. @default {@link KAFKA_SCALA} */
    readonly scala?: string;
    /** @default - `$PULUMI_MIDDLEWARE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/pulumi-middleware` */
    readonly cacheDir?: string;
    /** @default {@link JARS_PUBLISH_ROOT} */
    readonly publishRoot?: string;
}

/** Where one version pair of the jars lives. */
export interface MiddlewareJars {
    readonly kafkaVersion: string;
    readonly zookeeperVersion: string;
    readonly scala: string;
    /** Cache key, e.g. `kafka-3.9.2_zookeeper-3.8.6`. */
    readonly key: string;
    /** `<cache>/jars/<key>`: the generated pom, Maven's log, the resolved list, the manifest. */
    readonly cacheKeyDir: string;
    /** `<cache>/jars/<key>/lib`: the jars in the cache. */
    readonly cacheLib: string;
    /** The same jars as every host sees them: use `java -cp '<dir>/*'`. */
    readonly dir: string;
    /** `group:artifact:type:version:scope` of every jar, as Maven resolved them (empty before the first fetch). */
    readonly resolved: readonly string[];
}

/** The cache root, as tools/toolchain.sh computes it. */
export function middlewareCacheDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env.PULUMI_MIDDLEWARE_CACHE) return path.resolve(env.PULUMI_MIDDLEWARE_CACHE);
    return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache"), "pulumi-middleware");
}

/** Paths of the jars for a version pair, without fetching anything. */
export function middlewareJars(opts: MiddlewareJarsOptions = {}): MiddlewareJars {
    const kafkaVersion = opts.kafka ?? KAFKA_VERSION;
    const zookeeperVersion = opts.zookeeper ?? ZOOKEEPER_VERSION;
    const scala = opts.scala ?? KAFKA_SCALA;
    for (const v of [kafkaVersion, zookeeperVersion]) {
        if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`version ${JSON.stringify(v)}: expected x.y.z`);
    }
    if (!/^\d+\.\d+$/.test(scala)) throw new Error(`scala ${JSON.stringify(scala)}: expected x.y`);
    // The default Scala build keeps the key it always had, so a warm cache stays warm.
    const key = `kafka${scala === KAFKA_SCALA ? "" : `_${scala}`}-${kafkaVersion}_zookeeper-${zookeeperVersion}`;
    const cacheKeyDir = path.join(opts.cacheDir ?? middlewareCacheDir(), "jars", key);
    const resolvedFile = path.join(cacheKeyDir, "resolved.txt");
    return {
        kafkaVersion,
        zookeeperVersion,
        scala,
        key,
        cacheKeyDir,
        cacheLib: path.join(cacheKeyDir, "lib"),
        dir: path.join(opts.publishRoot ?? JARS_PUBLISH_ROOT, key),
        resolved: fs.existsSync(resolvedFile) ? readResolved(resolvedFile) : [],
    };
}

/** The pom whose runtime dependency closure is the jar set. */
function pomXml(kafka: string, zookeeper: string, scala: string): string {
    const dep = (g: string, a: string, v: string, exclusions = "") =>
        `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>${exclusions}</dependency>\n`;
    return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by the pulumi-middleware sandbox (sandbox/sites/kafka-jars.ts): the runtime
     classpath of a Kafka ${kafka} broker in ZooKeeper mode, its CLI tools, and ZooKeeper ${zookeeper}. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.pulumi-middleware.sandbox</groupId>
  <artifactId>middleware-jars</artifactId>
  <version>kafka-${kafka}_zookeeper-${zookeeper}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep("org.apache.kafka", `kafka_${scala}`, kafka)}${Number(kafka.split(".")[0]) >= 3 ? dep("org.apache.kafka", "kafka-tools", kafka) : dep("commons-cli", "commons-cli", LEGACY_COMMONS_CLI)}${dep(
        "org.apache.zookeeper", "zookeeper", zookeeper,
        "<exclusions><exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion></exclusions>",
    )}${dep("org.slf4j", "slf4j-reload4j", SLF4J_VERSION)}${dep("ch.qos.reload4j", "reload4j", RELOAD4J_VERSION)}  </dependencies>
</project>
`;
}

/** A manifest line per jar (`name size`), after a header naming the pom it came from. */
function manifestOf(libDir: string, pomHash: string): string {
    const jars = fs.readdirSync(libDir).filter((f) => f.endsWith(".jar")).sort();
    return [`pom-sha256 ${pomHash}`, ...jars.map((j) => `${j} ${fs.statSync(path.join(libDir, j)).size}`)].join("\n") + "\n";
}

/** Whether every jar `manifest` lists is in `dir` with its size. */
function jarsPresent(dir: string, manifest: string): boolean {
    try {
        return manifest.trim().split("\n").slice(1).every((line) => {
            const [name, size] = line.split(" ");
            return fs.statSync(path.join(dir, name)).size === Number(size);
        });
    } catch {
        return false;
    }
}

/** Whether the published `dir` holds what `manifest` lists (its own MANIFEST equal, every jar there). */
function isPublished(dir: string, manifest: string): boolean {
    try {
        return fs.readFileSync(path.join(dir, "MANIFEST"), "utf8") === manifest && jarsPresent(dir, manifest);
    } catch {
        return false;
    }
}

function readResolved(file: string): string[] {
    // dependency:list writes "   group:artifact:type:version:scope" lines (with a header).
    return fs.readFileSync(file, "utf8").split("\n").map((l) => l.trim().replace(/ -- .*$/, ""))
        .filter((l) => /^[\w.-]+:[\w.-]+:jar:/.test(l)).sort();
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** The cache's MANIFEST of `layout` when it was made from the pom hashed `pomHash` and every jar it lists is there. */
function cachedManifest(layout: MiddlewareJars, pomHash: string): string | undefined {
    try {
        const m = fs.readFileSync(path.join(layout.cacheKeyDir, "MANIFEST"), "utf8");
        return m.startsWith(`pom-sha256 ${pomHash}\n`) && jarsPresent(layout.cacheLib, m) ? m : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Whether the jars are in the cache and published for the hosts, as {@link ensureMiddlewareJars}
 * leaves them; fetches and changes nothing (tests check this instead of installing).
 */
export function middlewareJarsReady(opts: MiddlewareJarsOptions = {}): boolean {
    const layout = middlewareJars(opts);
    const manifest = cachedManifest(layout, sha256(pomXml(layout.kafkaVersion, layout.zookeeperVersion, layout.scala)));
    return manifest !== undefined && isPublished(layout.dir, manifest);
}

/**
 * Makes Kafka and ZooKeeper jars available on every sandbox host: resolves
 * `org.apache.kafka:kafka_2.13` and `kafka-tools` at {@link KAFKA_VERSION} and
 * `org.apache.zookeeper:zookeeper` at {@link ZOOKEEPER_VERSION}, with their runtime dependency
 * closure, from Maven Central through `mvn` (a generated pom and the dependency plugin's
 * `copy-dependencies`), into `<cache>/jars/<key>/lib` (Maven's own local repository for it is
 * `<cache>/jars/m2`), then publishes them as hard links (a copy across filesystems) under
 * {@link JARS_PUBLISH_ROOT}`/<key>`, world-readable. A warm cache does nothing; a cache
 * being filled by another process is waited for.
 */
export async function ensureMiddlewareJars(opts: MiddlewareJarsOptions = {}): Promise<MiddlewareJars> {
    const layout = middlewareJars(opts);
    const publishRoot = path.dirname(layout.dir);
    const hostOwn = hostOwnDirOf(publishRoot);
    if (hostOwn) throw new Error(`cannot publish jars under ${publishRoot}: each host has its own ${hostOwn}`);
    const pom = pomXml(layout.kafkaVersion, layout.zookeeperVersion, layout.scala);
    const pomHash = sha256(pom);
    const cacheWarm = () => cachedManifest(layout, pomHash);
    let manifest = cacheWarm();
    if (manifest && isPublished(layout.dir, manifest)) return layout;

    fs.mkdirSync(layout.cacheKeyDir, { recursive: true });
    await withPidLock(path.join(path.dirname(layout.cacheKeyDir), ".lock"), async () => {
        manifest = cacheWarm();
        if (!manifest) manifest = await fetchJars(layout, pom, pomHash);
        if (!isPublished(layout.dir, manifest)) publish(layout, manifest);
    }, { timeoutMs: 25 * 60 * 1000, waiting: "jars: waiting for the process filling the jar cache" });
    return middlewareJars(opts);
}

async function fetchJars(layout: MiddlewareJars, pom: string, pomHash: string): Promise<string> {
    const started = Date.now();
    const what = `Kafka ${layout.kafkaVersion} (kafka_${layout.scala}) and ZooKeeper ${layout.zookeeperVersion} jars`;
    progress(`jars: resolving ${what} from Maven Central with mvn into ${layout.cacheLib} (cold cache: ~600 files, ~90 MB)`);
    const pomFile = path.join(layout.cacheKeyDir, "pom.xml");
    const logFile = path.join(layout.cacheKeyDir, "mvn.log");
    const tmpLib = path.join(layout.cacheKeyDir, `lib.tmp-${process.pid}`);
    const resolvedFile = path.join(layout.cacheKeyDir, "resolved.txt");
    fs.rmSync(tmpLib, { recursive: true, force: true });
    fs.rmSync(path.join(layout.cacheKeyDir, "MANIFEST"), { force: true });
    fs.writeFileSync(pomFile, pom);
    const args = [
        "-B", "-Dstyle.color=never", "-f", pomFile,
        `-Dmaven.repo.local=${path.join(path.dirname(layout.cacheKeyDir), "m2")}`,
        `${DEPENDENCY_PLUGIN}:copy-dependencies`, `${DEPENDENCY_PLUGIN}:list`,
        "-DincludeScope=runtime", `-DoutputDirectory=${tmpLib}`, `-DoutputFile=${resolvedFile}`,
    ];
    const r = await runMaven(args, layout.cacheKeyDir, logFile, { label: "jars", what: "the Kafka/ZooKeeper jars" });
    if (r.code !== 0) {
        fs.rmSync(tmpLib, { recursive: true, force: true });
        throw new Error(`Maven could not resolve the ${what} (mvn exit ${r.code}):\n  ${mavenErrors(r)}\n` +
            `pom: ${pomFile}\nfull log: ${logFile}`);
    }
    const jars = fs.existsSync(tmpLib) ? fs.readdirSync(tmpLib).filter((f) => f.endsWith(".jar")) : [];
    for (const must of [`kafka_${layout.scala}-${layout.kafkaVersion}.jar`, `kafka-clients-${layout.kafkaVersion}.jar`, `zookeeper-${layout.zookeeperVersion}.jar`]) {
        if (!jars.includes(must)) throw new Error(`mvn finished but ${must} is not among the ${jars.length} jars in ${tmpLib}; see ${logFile}`);
    }
    for (const j of jars) fs.chmodSync(path.join(tmpLib, j), 0o444);
    fs.chmodSync(tmpLib, 0o755);
    fs.rmSync(layout.cacheLib, { recursive: true, force: true });
    fs.renameSync(tmpLib, layout.cacheLib);
    const manifest = manifestOf(layout.cacheLib, pomHash);
    fs.writeFileSync(path.join(layout.cacheKeyDir, "MANIFEST.tmp"), manifest);
    fs.renameSync(path.join(layout.cacheKeyDir, "MANIFEST.tmp"), path.join(layout.cacheKeyDir, "MANIFEST"));
    const mb = jars.reduce((n, j) => n + fs.statSync(path.join(layout.cacheLib, j)).size, 0) / 1e6;
    progress(`jars: ${jars.length} jars (${mb.toFixed(0)} MB) in ${layout.cacheLib} after ${((Date.now() - started) / 1000).toFixed(0)} s (${r.downloads} files downloaded)`);
    return manifest;
}

/** Hard-links (or copies) the cached jars to the published dir, replacing it atomically. */
function publish(layout: MiddlewareJars, manifest: string): void {
    const tmp = `${layout.dir}.tmp-${process.pid}`;
    fs.mkdirSync(path.dirname(layout.dir), { recursive: true, mode: 0o755 });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o755 });
    for (const line of manifest.trim().split("\n").slice(1)) {
        const name = line.split(" ")[0];
        try {
            fs.linkSync(path.join(layout.cacheLib, name), path.join(tmp, name));
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
            fs.copyFileSync(path.join(layout.cacheLib, name), path.join(tmp, name));
            fs.chmodSync(path.join(tmp, name), 0o444);
        }
    }
    fs.writeFileSync(path.join(tmp, "MANIFEST"), manifest, { mode: 0o444 });
    fs.chmodSync(tmp, 0o755);
    fs.rmSync(layout.dir, { recursive: true, force: true });
    fs.renameSync(tmp, layout.dir);
    progress(`jars: published on every host at ${layout.dir}`);
}
