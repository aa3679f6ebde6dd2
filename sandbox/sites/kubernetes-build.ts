import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { installPackages, missingPackages } from "../prerequisites";
import { progress } from "../progress";
import { pulumiHome } from "../../tools/engine";
import { middlewareCacheDir } from "./kafka-jars";

/*
 * What a Kubernetes site runs on: the cluster binaries and the `@pulumi/kubernetes` provider
 * plugin that tools/kubernetes-build.sh builds from the Go module proxy into the cache (the
 * plugin installed into the engine's PULUMI_HOME), and Debian's etcd, containerd, runc, CNI
 * plugins, busybox and iptables. `npm run prerequisites` installs them after the suite's other
 * prerequisites.
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

/**
 * Where the engine loads the provider plugin of `@pulumi/kubernetes` from: the project's
 * PULUMI_HOME (`.pulumi/home`, see tools/engine.ts), at the package's version.
 */
export function kubernetesPluginFile(): string {
    const version: string = require("@pulumi/kubernetes/package.json").version;
    return path.join(pulumiHome(), "plugins", `resource-kubernetes-v${version}`, "pulumi-resource-kubernetes");
}

/** Whether every binary of {@link KUBERNETES_BINARIES} is in the cache and the provider plugin installed. */
export function kubernetesBuildReady(): boolean {
    return KUBERNETES_BINARIES.every((b) => fs.existsSync(path.join(kubernetesBinDir(), b))) && fs.existsSync(kubernetesPluginFile());
}

/** What of a Kubernetes site's prerequisites is missing, one phrase per kind; installs nothing. */
export async function missingKubernetesPrerequisites(): Promise<string[]> {
    const missing: string[] = [];
    const packages = await missingPackages(KUBERNETES_PACKAGES);
    if (packages.length) missing.push(`Debian packages ${packages.join(", ")}`);
    if (!kubernetesBuildReady()) {
        missing.push(`Kubernetes ${KUBERNETES_VERSION} binaries and the kubernetes provider plugin (tools/kubernetes-build.sh, into ${kubernetesBinDir()} and ${kubernetesPluginFile()})`);
    }
    return missing;
}

/**
 * Installs the missing Debian packages and builds the cluster binaries and the provider plugin
 * when they are not cached (a cached plugin is only installed); with everything there it only
 * checks. The build's progress lines go to stderr as it runs. It builds as many packages at once
 * as the machine has cores (`KUBERNETES_BUILD_JOBS` overrides it), under `nice -n 19`.
 */
export async function ensureKubernetesPrerequisites(): Promise<void> {
    await installPackages(KUBERNETES_PACKAGES);
    if (kubernetesBuildReady()) return;
    progress(`building Kubernetes ${KUBERNETES_VERSION} and its Pulumi provider plugin (tools/kubernetes-build.sh; 12-20 minutes cold on 2 cores)`);
    const env = { ...process.env, KUBERNETES_BUILD_JOBS: process.env.KUBERNETES_BUILD_JOBS ?? String(os.availableParallelism()) };
    const code = await new Promise<number>((resolve, reject) => {
        const child = spawn("bash", [BUILD_SCRIPT], { env, stdio: ["ignore", "ignore", "inherit"] });
        child.on("error", reject);
        child.on("close", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    if (code !== 0) throw new Error(`tools/kubernetes-build.sh failed (exit ${code}); its output is above`);
}
