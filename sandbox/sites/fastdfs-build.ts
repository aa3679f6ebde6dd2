import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostOwnDirOf } from "../config";
import { withPidLock } from "../lock";
import { progress } from "../progress";
import { run } from "../run";
import { middlewareCacheDir } from "./kafka-jars";

/*
 * FastDFS and nginx with the FastDFS module, built from the upstream sources (no registry ships
 * them) with Debian's gcc and make, cached outside the repository and published for every host.
 */

/** The upstream archives, by what they are; each `<name>-<version>.tar.gz` holds one top folder of that name. */
export const FASTDFS_SOURCES = {
    libfastcommon: { version: "1.0.86", sha256: "89c1a121334b92fedba5c016ee8bc0459b93597c4f091096f74af7fc413acc0c" },
    libserverframe: { version: "1.2.14", sha256: "abe54fe0062ba07b8061fc6628e134a0b2673d535abb16e459876a3574b7c6a2" },
    fastdfs: { version: "6.16.0", sha256: "0ce3078dbf8670b4e1c4d112952af2edb1643ba08be467fba0e17366b1ef9c10" },
    "fastdfs-nginx-module": { version: "1.26", sha256: "6655112f15d747b66904e4a0e8296ec16b8fd670073975315e33f78559884aa2" },
    nginx: { version: "1.28.3", sha256: "f7bc049730175fd53bba6aa4df64982a08b26af172c7fe388ec45227fc526d81" },
} as const;

type SourceName = keyof typeof FASTDFS_SOURCES;

/** The FastDFS version the sandbox builds (what `version` of the `FastDfs` component means there). */
export const SANDBOX_FASTDFS_VERSION = FASTDFS_SOURCES.fastdfs.version;

/**
 * Where the build is published for the hosts: `<root>/<fastdfs version>/` with `bin/` (the
 * daemons and clients), `lib/` (their shared libraries: the binaries have no rpath, so every
 * caller sets `LD_LIBRARY_PATH`), `nginx/` (nginx with the FastDFS module, a tree to copy to
 * `/usr/local/nginx`), `conf/` (upstream's sample http.conf and mime.types) and `SOURCE`.
 * Shared by every host; treat it as read-only.
 */
export const FASTDFS_PUBLISH_ROOT = "/opt/middleware-fastdfs";

/** The nginx install prefix compiled into the build: the runbook's path. */
export const NGINX_PREFIX = "/usr/local/nginx";

/**
 * Where the FastDFS module reads its config: compiled in (the module's default is
 * /etc/fdfs/mod_fastdfs.conf; the build points it inside nginx's own conf dir so that renaming
 * `/usr/local/nginx` to `_bak` backs up nginx and its module's config together).
 */
export const MOD_FASTDFS_CONF = `${NGINX_PREFIX}/conf/mod_fastdfs.conf`;

/** The environment variable naming the folder with the upstream archives. */
export const FASTDFS_SOURCES_ENV = "PULUMI_MIDDLEWARE_FASTDFS_SOURCES";

/** The sources folder: `$PULUMI_MIDDLEWARE_FASTDFS_SOURCES`, else `../shared/vendor/fastdfs` beside the project (as tools/toolchain.sh resolves its vendor dir). */
export function fastdfsSourcesDir(env: NodeJS.ProcessEnv = process.env): string {
    return env[FASTDFS_SOURCES_ENV] ? path.resolve(env[FASTDFS_SOURCES_ENV]!) : path.resolve(__dirname, "..", "..", "..", "shared", "vendor", "fastdfs");
}

/** The cache key: every source version. */
export function fastdfsBuildKey(): string {
    return (Object.entries(FASTDFS_SOURCES) as [SourceName, { version: string }][]).map(([n, s]) => `${n}-${s.version}`).join("_");
}

/** Where the build lives, without building anything. */
export interface FastdfsBuildLayout {
    /** `<cache>/fastdfs/<key>`: `root/` (the FastDFS install), `nginx/` (the nginx install), `build.log`. */
    readonly cacheDir: string;
    /** `<publishRoot>/<fastdfs version>`. */
    readonly home: string;
}

/** Options of {@link ensureFastdfsBuild}. */
export interface FastdfsBuildOptions {
    /** @default - `$PULUMI_MIDDLEWARE_CACHE`, else `~/.cache/pulumi-middleware` */
    readonly cacheDir?: string;
    /** @default {@link FASTDFS_PUBLISH_ROOT} */
    readonly publishRoot?: string;
    /** @default {@link fastdfsSourcesDir} */
    readonly sourcesDir?: string;
}

export function fastdfsBuildLayout(opts: FastdfsBuildOptions = {}): FastdfsBuildLayout {
    return {
        cacheDir: path.join(opts.cacheDir ?? middlewareCacheDir(), "fastdfs", fastdfsBuildKey()),
        home: path.join(opts.publishRoot ?? FASTDFS_PUBLISH_ROOT, SANDBOX_FASTDFS_VERSION),
    };
}

/** The programs the sandbox and the component use, checked when published. */
const PROGRAMS = ["bin/fdfs_trackerd", "bin/fdfs_storaged", "bin/fdfs_monitor", "bin/fdfs_upload_file", "bin/fdfs_download_file", "nginx/sbin/nginx"];

function sourceText(): string {
    return (Object.entries(FASTDFS_SOURCES) as [SourceName, { version: string; sha256: string }][])
        .map(([n, s]) => `${n}-${s.version}.tar.gz sha256 ${s.sha256}\n`).join("") +
        `built with Debian's gcc and make (sandbox/sites/fastdfs-build.ts); nginx: --prefix=${NGINX_PREFIX}, module config at ${MOD_FASTDFS_CONF}\n`;
}

/** Whether the build is published for the hosts, as {@link ensureFastdfsBuild} leaves it; builds and changes nothing. */
export function fastdfsBuildReady(opts: FastdfsBuildOptions = {}): boolean {
    const { home } = fastdfsBuildLayout(opts);
    try {
        return fs.readFileSync(path.join(home, "SOURCE"), "utf8") === sourceText() && PROGRAMS.every((p) => fs.statSync(path.join(home, p)).mode & 0o111);
    } catch {
        return false;
    }
}

/**
 * Builds libfastcommon, libserverframe and FastDFS (each `./make.sh && ./make.sh install` into
 * a DESTDIR), then nginx with fastdfs-nginx-module against them, in `<cache>/fastdfs/<key>`,
 * and publishes the result under `<publishRoot>/<fastdfs version>`. Checks each archive's
 * sha256 first. A warm cache only publishes (or does nothing); another process building is
 * waited for. About a minute and a half on two cores.
 */
export async function ensureFastdfsBuild(opts: FastdfsBuildOptions = {}): Promise<FastdfsBuildLayout> {
    const layout = fastdfsBuildLayout(opts);
    const hostOwn = hostOwnDirOf(layout.home);
    if (hostOwn) throw new Error(`cannot publish the FastDFS build under ${layout.home}: each host has its own ${hostOwn}`);
    if (fastdfsBuildReady(opts)) return layout;
    fs.mkdirSync(layout.cacheDir, { recursive: true });
    await withPidLock(path.join(layout.cacheDir, ".lock"), async () => {
        if (fastdfsBuildReady(opts)) return;
        if (!fs.existsSync(path.join(layout.cacheDir, "done"))) await build(layout, opts.sourcesDir ?? fastdfsSourcesDir());
        publish(layout);
    }, { timeoutMs: 20 * 60 * 1000, waiting: "fastdfs: waiting for the process building FastDFS" });
    return layout;
}

function fileSha256(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

async function build(layout: FastdfsBuildLayout, sourcesDir: string): Promise<void> {
    const started = Date.now();
    for (const [name, s] of Object.entries(FASTDFS_SOURCES) as [SourceName, { version: string; sha256: string }][]) {
        const archive = path.join(sourcesDir, `${name}-${s.version}.tar.gz`);
        if (!fs.existsSync(archive)) throw new Error(`fastdfs: ${archive} is missing; set ${FASTDFS_SOURCES_ENV} to the folder holding the upstream archives (see sandbox/README.md)`);
        const got = fileSha256(archive);
        if (got !== s.sha256) throw new Error(`fastdfs: ${archive} has sha256 ${got}, expected ${s.sha256}`);
    }
    const work = path.join(layout.cacheDir, "work");
    for (const d of [work, path.join(layout.cacheDir, "root"), path.join(layout.cacheDir, "nginx")]) fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const logFile = path.join(layout.cacheDir, "build.log");
    progress(`fastdfs: building ${fastdfsBuildKey().replace(/_/g, ", ")} from ${sourcesDir} in ${layout.cacheDir} (about 90 s; log ${logFile})`);
    const v = (n: SourceName) => `${n}-${FASTDFS_SOURCES[n].version}`;
    const root = path.join(layout.cacheDir, "root");
    // make.sh looks for headers in /usr/include/fastcommon; a DESTDIR build points the compiler at its own.
    const script = `set -eu
W=${work}
D=${root}
for a in ${Object.keys(FASTDFS_SOURCES).map((n) => v(n as SourceName)).join(" ")}; do tar -xzf "${sourcesDir}/$a.tar.gz" -C "$W"; done
export DESTDIR="$D" C_INCLUDE_PATH="$D/usr/include:$D/usr/include/fastcommon" LIBRARY_PATH="$D/usr/lib"
for p in ${v("libfastcommon")} ${v("libserverframe")} ${v("fastdfs")}; do
    echo "== $p"; (cd "$W/$p" && ./make.sh && ./make.sh install)
done
cp "$W/${v("fastdfs")}/conf/http.conf" "$W/${v("fastdfs")}/conf/mime.types" "$D/etc/fdfs/"
unset DESTDIR
M="$W/fastdfs-module"
cp -a "$W/${v("fastdfs-nginx-module")}/src" "$M"
sed -i -e 's#/etc/fdfs/mod_fastdfs.conf#${MOD_FASTDFS_CONF}#g' -e "s#/usr/local/include#$D/usr/include#g" "$M/config"
echo "== ${v("nginx")}"
cd "$W/${v("nginx")}"
./auto/configure --prefix=${NGINX_PREFIX} --add-module="$M" --without-http_rewrite_module --without-http_gzip_module \\
    --with-cc-opt="-I$D/usr/include -I$D/usr/include/fastcommon" --with-ld-opt="-L$D/usr/lib"
make -j2
make install DESTDIR=${path.join(layout.cacheDir, "nginx")}
`;
    const log = fs.openSync(logFile, "w");
    const r = await run("bash", ["-c", `${script}`], { env: { ...process.env, LC_ALL: "C" } });
    fs.writeSync(log, r.stdout + r.stderr);
    fs.closeSync(log);
    if (r.code !== 0) throw new Error(`fastdfs: the build failed (exit ${r.code}):\n  ${r.stderr.trim().split("\n").slice(-8).join("\n  ")}\nfull log: ${logFile}`);
    fs.rmSync(work, { recursive: true, force: true });
    fs.writeFileSync(path.join(layout.cacheDir, "done"), `${new Date().toISOString()}\n`);
    progress(`fastdfs: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Lays out `<publishRoot>/<version>` from the cache, replacing it atomically. */
function publish(layout: FastdfsBuildLayout): void {
    const tmp = `${layout.home}.tmp-${process.pid}`;
    const root = path.join(layout.cacheDir, "root");
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
    fs.cpSync(path.join(root, "usr", "bin"), path.join(tmp, "bin"), { recursive: true });
    fs.mkdirSync(path.join(tmp, "lib"));
    for (const f of fs.readdirSync(path.join(root, "usr", "lib"))) {
        if (f.endsWith(".so")) fs.copyFileSync(path.join(root, "usr", "lib", f), path.join(tmp, "lib", f));
    }
    fs.cpSync(path.join(layout.cacheDir, "nginx", NGINX_PREFIX.slice(1)), path.join(tmp, "nginx"), { recursive: true });
    fs.mkdirSync(path.join(tmp, "conf"));
    fs.cpSync(path.join(root, "etc", "fdfs"), path.join(tmp, "conf"), { recursive: true });
    fs.writeFileSync(path.join(tmp, "SOURCE"), sourceText(), { mode: 0o444 });
    fs.mkdirSync(path.dirname(layout.home), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.dirname(layout.home), 0o755);
    fs.rmSync(layout.home, { recursive: true, force: true });
    fs.renameSync(tmp, layout.home);
    progress(`fastdfs: FastDFS ${SANDBOX_FASTDFS_VERSION} and nginx ${FASTDFS_SOURCES.nginx.version} with its module published on every host at ${layout.home}`);
}
