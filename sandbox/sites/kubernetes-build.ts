import * as fs from "fs";
import * as path from "path";
import { installPackages, missingPackages } from "../prerequisites";
import { progress } from "../progress";
import { run } from "../run";
import { middlewareCacheDir } from "./kafka-jars";

/*
 * What a Kubernetes site runs on: the cluster binaries that tools/kubernetes-build.sh builds from
 * the Go module proxy into the cache, and Debian's etcd, containerd, runc, CNI plugins, busybox
 * and iptables. Kept apart from the suite's prerequisites: the build takes about half an hour cold.
 */

/** The Kubernetes release the sandbox cluster runs (see tools/kubernetes-build.sh). */
export const KUBERNETES_VERSION = "1.34.4";

/** The programs of {@link KUBERNETES_VERSION} the build puts in {@link kubernetesBinDir}. */
export const KUBERNETES_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"] as const;

/**
 * Debian packages a Kubernetes site needs: etcd 3.4, containerd 1.6 with runc, the CNI plugins
 * (bridge, host-local, loopback in /usr/lib/cni), a static busybox and tini for the images, and
 * iptables, which the kubelet and the bridge plugin drive.
 */
export const KUBERNETES_PACKAGES: readonly string[] = [
    "etcd-server",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "busybox-static",
    "iptables",
    "tini",
    "openssl",
];

const BUILD_SCRIPT = path.join(__dirname, "..", "..", "tools", "kubernetes-build.sh");

/** Where the cluster binaries are cached: `<cache>/kubernetes/kubernetes-v<version>/bin`. */
export function kubernetesBinDir(): string {
    return path.join(middlewareCacheDir(), "kubernetes", `kubernetes-v${KUBERNETES_VERSION}`, "bin");
}

/** Whether every binary of {@link KUBERNETES_BINARIES} is in the cache. */
export function kubernetesBuildReady(): boolean {
    return KUBERNETES_BINARIES.every((b) => fs.existsSync(path.join(kubernetesBinDir(), b)));
}

/** What of a Kubernetes site's prerequisites is missing, one phrase per kind; installs nothing. */
export async function missingKubernetesPrerequisites(): Promise<string[]> {
    const missing: string[] = [];
    const packages = await missingPackages(KUBERNETES_PACKAGES);
    if (packages.length) missing.push(`Debian packages ${packages.join(", ")}`);
    if (!kubernetesBuildReady()) missing.push(`Kubernetes ${KUBERNETES_VERSION} binaries (tools/kubernetes-build.sh, into ${kubernetesBinDir()})`);
    return missing;
}

/**
 * Installs the missing Debian packages and builds the cluster binaries (not the provider
 * plugin) when they are not cached; with everything there it only checks.
 */
export async function ensureKubernetesPrerequisites(): Promise<void> {
    await installPackages(KUBERNETES_PACKAGES);
    if (kubernetesBuildReady()) return;
    progress(`building Kubernetes ${KUBERNETES_VERSION} (tools/kubernetes-build.sh --cluster-only; about 30 minutes cold)`);
    const r = await run("bash", [BUILD_SCRIPT, "--cluster-only"], { env: process.env });
    if (r.code !== 0) throw new Error(`tools/kubernetes-build.sh --cluster-only failed:\n${r.stderr.trim().split("\n").slice(-15).join("\n")}`);
}
