import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { must } from "../run";

/*
 * Container images without a registry: a root filesystem put together from the machine's own
 * Debian files (busybox-static with its applet links, tini-static, a program and the libraries
 * `ldd` lists), packed as a docker-archive tar (manifest.json, a config, one layer) that
 * `ctr images import` accepts. Pods use them with `imagePullPolicy: Never`.
 */

/** An image the site builds. */
export interface ImageSpec {
    /** Reference, e.g. `sandbox.local/redis:6.2.11`. */
    readonly ref: string;
    /** File name of its archive. */
    readonly file: string;
    /** Programs to copy with their libraries: at the same path, or `[from, to]`. */
    readonly programs: readonly (string | readonly [string, string])[];
    /** Folders to copy as they are (data files, modules). */
    readonly trees: readonly string[];
    /** Paths under the trees to leave out. */
    readonly exclude?: readonly string[];
}

const BUSYBOX = "/bin/busybox";
const TINI = "/usr/bin/tini-static";

/** /etc/passwd of every image: root, and the users Redis and PostgreSQL pods run as. */
const PASSWD = "root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/var/lib/redis:/bin/sh\npostgres:x:26:26:postgres:/var/lib/pgsql:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
const GROUP = "root:x:0:\nredis:x:999:\npostgres:x:26:\nnogroup:x:65534:\n";

/** The uid PostgreSQL runs as in the images (as in Red Hat's PostgreSQL images). */
export const POSTGRES_UID = 26;

/** Libraries a program loads, from `ldd`, with the dynamic loader. */
async function librariesOf(program: string): Promise<string[]> {
    const out = await must("ldd", [program]).catch(() => ""); // a static program: "not a dynamic executable"
    const libs: string[] = [];
    for (const line of out.split("\n")) {
        const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
        if (m) libs.push(m[1]);
    }
    return libs;
}

function copyInto(root: string, file: string, to = file): void {
    const target = path.join(root, to);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!fs.existsSync(target)) fs.copyFileSync(fs.realpathSync(file), target);
    fs.chmodSync(target, fs.statSync(file).mode & 0o7777);
}

function copyTree(root: string, dir: string, exclude: readonly string[]): void {
    fs.cpSync(dir, path.join(root, dir), {
        recursive: true,
        dereference: true,
        filter: (src) => !exclude.some((e) => src === e || src.startsWith(e + "/")),
    });
}

/** Lays out the root filesystem of `spec` in `root`. */
async function layOutRoot(spec: ImageSpec, root: string): Promise<void> {
    fs.rmSync(root, { recursive: true, force: true });
    for (const d of ["bin", "sbin", "etc", "root", "tmp", "var/run", "proc", "sys", "dev"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.chmodSync(path.join(root, "tmp"), 0o1777);
    copyInto(root, BUSYBOX);
    const applets = (await must(BUSYBOX, ["--list"])).split("\n").filter(Boolean);
    for (const a of applets) if (!fs.existsSync(path.join(root, "bin", a))) fs.symlinkSync("busybox", path.join(root, "bin", a));
    fs.copyFileSync(TINI, path.join(root, "sbin", "tini"));
    fs.chmodSync(path.join(root, "sbin", "tini"), 0o755);
    fs.writeFileSync(path.join(root, "etc", "passwd"), PASSWD);
    fs.writeFileSync(path.join(root, "etc", "group"), GROUP);
    fs.writeFileSync(path.join(root, "etc", "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
    for (const tree of spec.trees) copyTree(root, tree, spec.exclude ?? []);
    for (const program of spec.programs) {
        const [from, to] = typeof program === "string" ? [program, program] : program;
        copyInto(root, from, to);
        for (const lib of await librariesOf(from)) copyInto(root, lib);
    }
}

async function sha256(file: string): Promise<string> {
    const h = crypto.createHash("sha256");
    for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
    return h.digest("hex");
}

/**
 * Builds the docker-archive of `spec` into `dir` unless it is there; returns its path. The
 * work folder beside it is removed afterwards.
 */
export async function buildImage(spec: ImageSpec, dir: string): Promise<string> {
    const archive = path.join(dir, spec.file);
    if (fs.existsSync(archive)) return archive;
    const work = path.join(dir, `${spec.file}.work`);
    const root = path.join(work, "rootfs");
    await layOutRoot(spec, root);
    const layer = path.join(work, "layer.tar");
    await must("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", layer, "."]);
    const diffId = `sha256:${await sha256(layer)}`;
    const config = {
        architecture: "amd64",
        os: "linux",
        config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/sbin/tini", "--", "sleep", "2147483647"] },
        rootfs: { type: "layers", diff_ids: [diffId] },
        history: [{ created_by: "pulumi-middleware sandbox" }],
    };
    const configText = JSON.stringify(config);
    const configName = `${crypto.createHash("sha256").update(configText).digest("hex")}.json`;
    fs.writeFileSync(path.join(work, configName), configText);
    fs.writeFileSync(path.join(work, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [spec.ref], Layers: ["layer.tar"] }]));
    await must("tar", ["-C", work, "-cf", `${archive}.tmp`, "manifest.json", configName, "layer.tar"]);
    fs.renameSync(`${archive}.tmp`, archive);
    fs.rmSync(work, { recursive: true, force: true });
    return archive;
}
