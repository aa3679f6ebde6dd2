import * as fs from "fs";
import { progress } from "./progress";
import { must, run, sleep, waitFor } from "./run";
import { ensureMiddlewareJars, JARS_PUBLISH_ROOT, KAFKA_VERSION, LEGACY_KAFKA_JARS, middlewareJarsReady, UPGRADE_KAFKA_JARS, ZOOKEEPER_VERSION } from "./sites/kafka-jars";
import { ensureFastdfsBuild, FASTDFS_PUBLISH_ROOT, fastdfsBuildReady, SANDBOX_FASTDFS_VERSION } from "./sites/fastdfs-build";
import { ensureRedisVersions, REDIS_PUBLISH_ROOT, redisVersionsReady, SANDBOX_REDIS_VERSIONS } from "./sites/redis-versions";
import { ensurePostgresVersions, POSTGRES_PUBLISH_ROOT, postgresVersionsReady, SANDBOX_POSTGRES_VERSIONS } from "./sites/postgres-versions";

/**
 * The command that installs every prerequisite of the sandbox and the test suite; `npm test`
 * runs it before mocha. Every check that finds something missing names it.
 */
export const PREREQUISITES_COMMAND = "npm run prerequisites";

/**
 * Debian packages the sandbox installs when missing. `postgresql` brings PostgreSQL 15
 * (`/usr/lib/postgresql/15/bin`); its postinst creates a cluster `15/main` in the root
 * namespace's /etc/postgresql and /var/lib/postgresql (each host has its own, empty, copies of
 * those dirs) and asks invoke-rc.d to start it, which the policy-rc.d below refuses.
 * The JRE runs Kafka and ZooKeeper from the jars Maven fetches (see ensureMiddlewareJars); pip
 * fetches the PostgreSQL 16 wheel (see ensurePostgresVersions).
 * gcc, make, libc6-dev and perl build FastDFS and nginx from the vendored sources (see ensureFastdfsBuild).
 */
export const PACKAGES: readonly string[] = [
    "openssh-server",
    "openssh-client",
    "redis-server",
    "redis-tools",
    "keepalived",
    "nginx",
    "iproute2",
    "procps",
    "tini",
    "util-linux",
    "postgresql",
    "openjdk-17-jre-headless",
    "maven",
    "python3-pip",
    "gcc",
    "make",
    "libc6-dev",
    "perl",
];

/** Daemons whose packages would start them in the root namespace on install. */
// containerd and etcd come with the Kubernetes site's packages (sites/kubernetes-build.ts).
const PACKAGE_DAEMONS = new Set(["sshd", "redis-server", "keepalived", "nginx", "postgres", "containerd", "etcd"]);

const POLICY_RC_D = "/usr/sbin/policy-rc.d";

/** Throws a clear error unless running as root; called before anything is touched. */
export function requireRoot(): void {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        throw new Error("the sandbox creates network namespaces, bridges and mounts: run it as root");
    }
}

/** Packages of `packages` (default {@link PACKAGES}) that dpkg does not list as installed. */
export async function missingPackages(packages: readonly string[] = PACKAGES): Promise<string[]> {
    const r = await run("dpkg-query", ["-W", "-f", "${Package} ${Status}\n", ...packages]);
    const installed = new Set(
        r.stdout
            .split("\n")
            .filter((l) => l.endsWith(" install ok installed"))
            .map((l) => l.split(" ")[0]),
    );
    return packages.filter((p) => !installed.has(p));
}

/**
 * What is missing of the prerequisites, one phrase per kind (Debian packages, jars, Redis
 * builds); empty when everything is there. Installs and changes nothing, and takes well under
 * a second, so tests and `up` can check before they start.
 */
export async function missingPrerequisites(): Promise<string[]> {
    const missing: string[] = [];
    const packages = await missingPackages();
    if (packages.length) missing.push(`Debian packages ${packages.join(", ")}`);
    if (!middlewareJarsReady()) missing.push(`Kafka ${KAFKA_VERSION} and ZooKeeper ${ZOOKEEPER_VERSION} jars (Maven Central, for the hosts under ${JARS_PUBLISH_ROOT})`);
    if (!middlewareJarsReady(LEGACY_KAFKA_JARS)) {
        missing.push(`the legacy Kafka ${LEGACY_KAFKA_JARS.kafka} and ZooKeeper ${LEGACY_KAFKA_JARS.zookeeper} jars (Maven Central, for the hosts under ${JARS_PUBLISH_ROOT})`);
    }
    if (!middlewareJarsReady(UPGRADE_KAFKA_JARS)) {
        missing.push(`the upgrade's Kafka ${UPGRADE_KAFKA_JARS.kafka} and ZooKeeper ${UPGRADE_KAFKA_JARS.zookeeper} jars (Maven Central, for the hosts under ${JARS_PUBLISH_ROOT})`);
    }
    if (process.arch === "x64" && !redisVersionsReady()) {
        missing.push(`Redis ${Object.keys(SANDBOX_REDIS_VERSIONS).join(" and ")} builds (Maven Central, for the hosts under ${REDIS_PUBLISH_ROOT})`);
    }
    if (process.arch === "x64" && !postgresVersionsReady()) {
        missing.push(`PostgreSQL ${Object.keys(SANDBOX_POSTGRES_VERSIONS).join(", ")} (PyPI wheel, for the hosts under ${POSTGRES_PUBLISH_ROOT})`);
    }
    if (!fastdfsBuildReady()) missing.push(`FastDFS ${SANDBOX_FASTDFS_VERSION} and nginx with its module (built from the vendored sources, for the hosts under ${FASTDFS_PUBLISH_ROOT})`);
    return missing;
}

/** The error of a check that found `missing` (see {@link missingPrerequisites}): what, and the command that installs it. */
export function missingPrerequisitesError(missing: readonly string[]): Error {
    return new Error(`prerequisites missing: ${missing.join("; ")}. ` +
        `Install them first with \`${PREREQUISITES_COMMAND}\` (as root; it is a step of npm test). Tests never install anything.`);
}

/** Throws {@link missingPrerequisitesError} unless every prerequisite is there; installs nothing. */
export async function requirePrerequisites(): Promise<void> {
    const missing = await missingPrerequisites();
    if (missing.length) throw missingPrerequisitesError(missing);
}

/**
 * Throws {@link missingPrerequisitesError} unless `file` exists: for a test that needs one
 * program of the prerequisites (say /usr/bin/redis-server) and nothing else of the sandbox.
 */
export function requireInstalled(file: string, debianPackage: string): void {
    if (!PACKAGES.includes(debianPackage)) throw new Error(`${debianPackage} is not among the sandbox's packages (PACKAGES)`);
    if (!fs.existsSync(file)) throw missingPrerequisitesError([`${file} (Debian package ${debianPackage})`]);
}

/**
 * `npm run prerequisites`: installs whatever {@link missingPrerequisites} finds missing (see
 * {@link ensurePackages}), with progress lines; when everything is there it only checks, which
 * takes well under a second. Needs root only when something is missing.
 */
export async function installPrerequisites(): Promise<void> {
    const started = Date.now();
    const missing = await missingPrerequisites();
    if (missing.length === 0) {
        progress(`prerequisites: all present (${PACKAGES.length} Debian packages, Kafka/ZooKeeper jars, Redis, PostgreSQL and FastDFS builds), checked in ${Date.now() - started} ms`);
        return;
    }
    progress(`prerequisites: installing ${missing.join("; ")}`);
    requireRoot();
    await ensurePackages();
    const still = await missingPrerequisites();
    if (still.length) throw new Error(`prerequisites still missing after the install: ${still.join("; ")}`);
    progress(`prerequisites: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Installs what the sandbox needs: missing Debian packages (see {@link installPackages}), then
 * the Kafka and ZooKeeper jars and the Redis 6.2 servers from Maven Central into the cache
 * outside the repository, published for every host (see ensureMiddlewareJars and
 * ensureRedisVersions; the Redis builds are linux-amd64 only). Does nothing when all is there.
 */
export async function ensurePackages(): Promise<void> {
    await installPackages();
    await ensureMiddlewareJars();
    await ensureMiddlewareJars(LEGACY_KAFKA_JARS);
    await ensureMiddlewareJars(UPGRADE_KAFKA_JARS);
    if (process.arch === "x64") {
        await ensureRedisVersions();
        await ensurePostgresVersions();
    } else progress(`redis, postgres: no other builds for ${process.arch}; only Debian's Redis and PostgreSQL are available`);
    await ensureFastdfsBuild();
}

/**
 * Installs the missing ones of `packages` (default {@link PACKAGES}) with `apt-get`, keeping their daemons from starting in the root
 * namespace: a policy-rc.d that denies starts while installing, and any such daemon that
 * appears anyway is stopped by pid.
 */
export async function installPackages(packages: readonly string[] = PACKAGES): Promise<void> {
    const missing = await missingPackages(packages);
    if (missing.length === 0) return;
    progress(`installing ${missing.join(" ")} (apt-get; this takes a minute)`);
    const before = rootDaemonPids();
    const ownPolicy = !fs.existsSync(POLICY_RC_D);
    if (ownPolicy) fs.writeFileSync(POLICY_RC_D, "#!/bin/sh\n# written by the sandbox during its install\nexit 101\n", { mode: 0o755 });
    try {
        const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
        progress("apt-get update");
        const upd = await run("apt-get", ["update", "-q"], { env });
        if (upd.code !== 0) throw new Error(`apt-get update failed: ${upd.stderr.trim()}`);
        progress(`apt-get install ${missing.join(" ")}`);
        const inst = await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], { env });
        if (inst.code !== 0) {
            throw new Error(`cannot install sandbox prerequisites (${missing.join(", ")}): ${inst.stderr.trim().split("\n").slice(-5).join("\n")}`);
        }
    } finally {
        if (ownPolicy) fs.rmSync(POLICY_RC_D, { force: true });
    }
    await stopNewDaemons(before);
    const still = await missingPackages(packages);
    if (still.length) throw new Error(`packages still missing after install: ${still.join(", ")}`);
    progress("packages installed");
}

/** Checks the tools the sandbox drives directly are present. */
export async function requireTools(): Promise<void> {
    for (const tool of ["ip", "unshare", "nsenter", "mount", "umount", "flock"]) {
        const r = await run("sh", ["-c", `command -v ${tool}`]);
        if (r.code !== 0) throw new Error(`required tool ${tool} is not on PATH`);
    }
}

/** Root-namespace processes named in {@link PACKAGE_DAEMONS}. */
export function rootDaemonPids(): Set<number> {
    const rootNet = fs.readlinkSync("/proc/self/ns/net");
    const pids = new Set<number>();
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const comm = fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim();
            if (PACKAGE_DAEMONS.has(comm) && fs.readlinkSync(`/proc/${entry}/ns/net`) === rootNet) pids.add(Number(entry));
        } catch {
            // the process ended while we looked
        }
    }
    return pids;
}

/** State and parent of a process from /proc/PID/stat, undefined once it is gone. */
function procStat(pid: number): { state: string; ppid: number } | undefined {
    try {
        // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return { state, ppid: Number(ppid) };
    } catch {
        return undefined;
    }
}

/** Running, not a zombie waiting for its parent to reap it. */
function alive(pid: number): boolean {
    const st = procStat(pid);
    return st !== undefined && st.state !== "Z";
}

/**
 * Stops, by pid, the package daemons that were not running before: only the top process of
 * each (e.g. the postmaster or nginx master, not their workers), which takes its children down.
 */
export async function stopNewDaemons(before: Set<number>): Promise<void> {
    const all = rootDaemonPids();
    const started = [...all].filter((p) => !before.has(p) && !all.has(procStat(p)?.ppid ?? 0));
    for (const pid of started) {
        progress(`stopping daemon pid ${pid} that a package started in the root namespace`);
        await must("kill", ["-TERM", String(pid)]).catch(() => undefined);
    }
    if (started.length === 0) return;
    if (await waitFor(async () => !started.some(alive), 10000, 100)) return;
    for (const pid of started.filter(alive)) {
        progress(`daemon pid ${pid} ignored SIGTERM for 10 s: SIGKILL`);
        await must("kill", ["-KILL", String(pid)]).catch(() => undefined);
    }
    await sleep(500);
}
