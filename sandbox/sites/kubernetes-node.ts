import * as path from "path";

/*
 * One host running a whole Kubernetes cluster: etcd, the control plane, containerd and the
 * kubelet, started by a SysV script like the other sites' daemons, so a host that crashes and
 * boots again brings its cluster back. Everything the cluster keeps lives in the host's own
 * /var/lib/middleware (its disk) and /run (fresh per boot); its iptables chains, the CNI bridge
 * and the pods' namespaces live in the host's network and mount namespaces.
 */

/** Where the cluster keeps its files on the host. */
export const NODE_DIR = "/var/lib/middleware/kubernetes";

/** The cluster's files as the host sees them. */
export const NODE_PATHS = {
    dir: NODE_DIR,
    pki: path.join(NODE_DIR, "pki"),
    kubeconfig: path.join(NODE_DIR, "kubeconfig"),
    etcdData: path.join(NODE_DIR, "etcd"),
    containerdRoot: path.join(NODE_DIR, "containerd"),
    containerdConfig: path.join(NODE_DIR, "containerd.toml"),
    containerdSocket: "/run/containerd/containerd.sock",
    kubeletRoot: path.join(NODE_DIR, "kubelet"),
    kubeletConfig: path.join(NODE_DIR, "kubelet.yaml"),
    cniConfDir: path.join(NODE_DIR, "cni", "net.d"),
    cniDataDir: path.join(NODE_DIR, "cni", "networks"),
    images: path.join(NODE_DIR, "images"),
    logDir: "/var/log/kubernetes",
    runDir: "/run/kubernetes",
    initScript: "/etc/init.d/kubernetes",
} as const;

/** Service range of the API server; nothing routes it (no kube-proxy), pods are reached by their IPs. */
export const SERVICE_RANGE = "10.96.0.0/16";

/** What a node's configuration depends on. */
export interface NodeSettings {
    /** The host's name, the node's name. */
    readonly name: string;
    /** The host's address: the API server's advertised address and the node IP. */
    readonly address: string;
    /** The pods' /24, on the CNI bridge `cni0` of the host; its .1 is the gateway. */
    readonly podRange: string;
    /** The folder with the cluster binaries. */
    readonly binDir: string;
    /** The image the CRI runs as each pod's sandbox. */
    readonly sandboxImage: string;
    /** The machine's cgroup mounts, for the host to mount again (see {@link machineCgroupMounts}). */
    readonly cgroupMounts: readonly CgroupMount[];
}

/** One cgroup hierarchy mounted on the machine. */
export interface CgroupMount {
    readonly target: string;
    readonly fstype: "cgroup" | "cgroup2";
    readonly options: string;
}

/**
 * The machine's cgroup hierarchies under /sys/fs/cgroup. A host does not see them: `ip netns
 * exec` mounts a fresh /sys for the host's network namespace, and runc then finds no cgroup
 * mount; the init script mounts the same hierarchies again in the host's mount namespace.
 */
export function machineCgroupMounts(mountinfo: string): CgroupMount[] {
    const mounts: CgroupMount[] = [];
    for (const line of mountinfo.split("\n")) {
        const [left, right] = line.split(" - ");
        if (!right) continue;
        const target = left.split(" ")[4];
        const [fstype, , superOptions] = right.split(" ");
        if ((fstype !== "cgroup" && fstype !== "cgroup2") || !target.startsWith("/sys/fs/cgroup/")) continue;
        let options = superOptions.split(",").filter((o) => o !== "rw" && o !== "ro").join(",");
        if (/^name=[^,]+$/.test(options)) options = `none,${options}`; // a named hierarchy without controllers
        mounts.push({ target, fstype, options });
    }
    return mounts;
}

/**
 * containerd's configuration. `restrict_oom_score_adj`: root here cannot lower oom_score_adj
 * (runc fails with `can't get final child's PID from pipe: EOF` without it); no AppArmor and
 * no systemd on these machines.
 */
export function containerdConfig(n: NodeSettings): string {
    return `version = 2
root = "${NODE_PATHS.containerdRoot}"
state = "/run/containerd"

[grpc]
  address = "${NODE_PATHS.containerdSocket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${n.sandboxImage}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${NODE_PATHS.cniConfDir}"
`;
}

/** The pods' network: a bridge with the gateway on the host, addresses from host-local. */
export function cniConfig(n: NodeSettings): string {
    const base = n.podRange.replace(/\.0\/24$/, "");
    return JSON.stringify({
        cniVersion: "0.4.0",
        name: "pods",
        plugins: [{
            type: "bridge",
            bridge: "cni0",
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
                type: "host-local",
                ranges: [[{ subnet: n.podRange, gateway: `${base}.1` }]],
                routes: [{ dst: "0.0.0.0/0" }],
                dataDir: NODE_PATHS.cniDataDir,
            },
        }],
    }, null, 2) + "\n";
}

/**
 * The kubelet's configuration: cgroupfs on cgroup v1, swap allowed, anonymous access with
 * AlwaysAllow (the API server holds no kubelet client certificate; exec and cp go through it).
 */
export function kubeletConfig(n: NodeSettings): string {
    return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${n.address}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${NODE_PATHS.containerdSocket}
imageServiceEndpoint: unix://${NODE_PATHS.containerdSocket}
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
`;
}

/**
 * The SysV script `service kubernetes start|stop|status`: starts what is not running, in order
 * (etcd, containerd, the API server and its readiness, controller-manager, scheduler, kubelet),
 * each with its pid file in /run/kubernetes and its log in /var/log/kubernetes.
 */
export function initScript(n: NodeSettings): string {
    const p = NODE_PATHS;
    const pki = (f: string) => path.join(p.pki, f);
    const kubectl = `${n.binDir}/kubectl --kubeconfig ${p.kubeconfig}`;
    return `#!/bin/sh
# Kubernetes ${n.name}: etcd, containerd and the cluster of ${n.binDir} (written by the sandbox).
BIN=${n.binDir}
RUN=${p.runDir}
LOG=${p.logDir}
DAEMONS="etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet"

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

launch() {
    name=$1; shift
    running "$name" && return 0
    setsid nohup "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

wait_for() {
    what=$1; shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -ge 240 ]; then echo "kubernetes: $what not ready after 120 s (see $LOG)" >&2; exit 1; fi
        sleep 0.5
    done
}

mount_cgroups() {
    grep -q " /sys/fs/cgroup/" /proc/self/mountinfo && return 0
    mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
${n.cgroupMounts.map((m) => `    mkdir -p ${m.target} && mount -t ${m.fstype} ${m.options ? `-o ${m.options} ` : ""}${m.fstype} ${m.target}`).join("\n")}
}

# cgroups outlive a crashed host (the machine's tree is shared); a kubelet that finds its old pods'
# cgroups spends seconds on each (\`Failed to create existing container\`) before it syncs pods.
# Like a reboot, start without them; one that still holds a task refuses rmdir and stays.
clear_stale_cgroups() {
    running kubelet && return 0
    for d in /sys/fs/cgroup/*/kubepods; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; 2>/dev/null
    done
    return 0
}

case "$1" in
start)
    mkdir -p "$RUN" "$LOG"
    mount_cgroups
    clear_stale_cgroups
    launch etcd /usr/bin/etcd --name ${n.name} --data-dir ${p.etcdData} \\
        --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \\
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \\
        --initial-cluster ${n.name}=http://127.0.0.1:2380
    launch containerd /usr/bin/containerd --config ${p.containerdConfig}
    launch kube-apiserver $BIN/kube-apiserver --etcd-servers=http://127.0.0.1:2379 \\
        --bind-address=0.0.0.0 --secure-port=6443 --advertise-address=${n.address} \\
        --client-ca-file=${pki("ca.crt")} --tls-cert-file=${pki("apiserver.crt")} --tls-private-key-file=${pki("apiserver.key")} \\
        --service-account-key-file=${pki("sa.pub")} --service-account-signing-key-file=${pki("sa.key")} \\
        --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=${SERVICE_RANGE} \\
        --authorization-mode=RBAC --endpoint-reconciler-type=none \\
        --kubelet-preferred-address-types=InternalIP,Hostname
    wait_for "the API server" ${kubectl} get --raw /readyz
    launch kube-controller-manager $BIN/kube-controller-manager --kubeconfig=${p.kubeconfig} --leader-elect=false \\
        --bind-address=127.0.0.1 --service-account-private-key-file=${pki("sa.key")} --root-ca-file=${pki("ca.crt")}
    launch kube-scheduler $BIN/kube-scheduler --kubeconfig=${p.kubeconfig} --leader-elect=false --bind-address=127.0.0.1
    wait_for containerd [ -S ${p.containerdSocket} ]
    launch kubelet $BIN/kubelet --config=${p.kubeletConfig} --kubeconfig=${p.kubeconfig} \\
        --root-dir=${p.kubeletRoot} --node-ip=${n.address} --hostname-override=${n.name}
    wait_for "node ${n.name}" sh -c "${kubectl} get node ${n.name} -o jsonpath='{.status.conditions[?(@.type==\\"Ready\\")].status}' | grep -qx True"
    ;;
stop)
    for name in kubelet kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
        running "$name" && kill "$(cat "$RUN/$name.pid")"
    done
    for name in kubelet kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
        i=0
        while running "$name" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        rm -f "$RUN/$name.pid"
    done
    ;;
status)
    code=0
    for name in $DAEMONS; do
        if running "$name"; then echo "$name running (pid $(cat "$RUN/$name.pid"))"; else echo "$name stopped"; code=3; fi
    done
    exit $code
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
`;
}
