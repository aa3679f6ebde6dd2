import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { settingsFromEnv } from "../../../sandbox/config";
import { cniConfig, containerdConfig, initScript, kubeletConfig, machineCgroupMounts, NodeSettings } from "../../../sandbox/sites/kubernetes-node";
import { ensurePki, kubeconfig, pkiPaths } from "../../../sandbox/sites/kubernetes-pki";
import { podRange } from "../../../sandbox/sites/threescale";
import { REDIS_CONF, threescaleObjects, ZYNC_REPLICAS } from "../../../sandbox/sites/threescale-manifests";

/*
 * The 3scale site's cluster configuration and objects, without a cluster: what the host's
 * init script, containerd, the kubelet and the CNI bridge get, and what `kubectl apply` gets.
 */

const NODE: NodeSettings = {
    name: "h1",
    address: "10.213.65.11",
    podRange: "10.244.65.0/24",
    binDir: "/cache/kubernetes/kubernetes-v1.34.4/bin",
    sandboxImage: "sandbox.local/base:1",
    cgroupMounts: [
        { target: "/sys/fs/cgroup/cpu", fstype: "cgroup", options: "cpu" },
        { target: "/sys/fs/cgroup/systemd", fstype: "cgroup", options: "none,name=systemd" },
        { target: "/sys/fs/cgroup/unified", fstype: "cgroup2", options: "" },
    ],
};

describe("sandbox site 3scale (configuration)", function () {
    it("mounts the machine's cgroup hierarchies again, a named one without controllers", function () {
        const mountinfo = [
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
            "50 23 0:40 / /app rw,relatime - tmpfs sandbox-h1-app rw,size=2097152k",
        ].join("\n");
        assert.deepEqual(machineCgroupMounts(mountinfo), NODE.cgroupMounts);
    });

    it("gives containerd the settings real pods need here", function () {
        const c = containerdConfig(NODE);
        for (const line of ["restrict_oom_score_adj = true", "disable_apparmor = true", "SystemdCgroup = false", 'sandbox_image = "sandbox.local/base:1"', 'bin_dir = "/usr/lib/cni"']) {
            assert.ok(c.includes(line), line);
        }
    });

    it("puts the pods on a bridge with the gateway on the host, their /24 from the sandbox's subnet", function () {
        assert.equal(podRange(settingsFromEnv({ SANDBOX_SUBNET: "10.213.65.0/24" })), "10.244.65.0/24");
        const plugin = JSON.parse(cniConfig(NODE)).plugins[0];
        assert.equal(plugin.isGateway, true);
        assert.equal(plugin.ipMasq, false);
        assert.deepEqual(plugin.ipam.ranges, [[{ subnet: "10.244.65.0/24", gateway: "10.244.65.1" }]]);
    });

    it("runs the kubelet on cgroupfs and cgroup v1 at the host's address", function () {
        const k = kubeletConfig(NODE);
        for (const line of ["cgroupDriver: cgroupfs", "failCgroupV1: false", "failSwapOn: false", "address: 10.213.65.11", "mode: AlwaysAllow"]) assert.ok(k.includes(line), line);
    });

    it("writes an init script sh accepts, starting the daemons in order and the kubelet at the host's address", function () {
        const script = initScript(NODE);
        execFileSync("sh", ["-n"], { input: script });
        const order = ["launch etcd", "launch containerd", "launch kube-apiserver", "launch kube-controller-manager", "launch kube-scheduler", "launch kubelet"].map((l) => script.indexOf(l));
        assert.ok(order.every((i, n) => i > 0 && (n === 0 || i > order[n - 1])), `order ${order.join(" ")}`);
        assert.match(script, /--node-ip=10\.213\.65\.11/);
        assert.match(script, /mount -t cgroup -o none,name=systemd cgroup \/sys\/fs\/cgroup\/systemd/);
        assert.match(script, /mount -t cgroup2 cgroup2 \/sys\/fs\/cgroup\/unified/);
    });

    it("makes a CA, an API server certificate for the host's address and an admin in system:masters", async function () {
        this.timeout(60_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pki-"));
        try {
            await ensurePki(dir, ["10.213.65.11"]);
            const p = pkiPaths(dir);
            const text = (f: string) => execFileSync("openssl", ["x509", "-in", f, "-noout", "-text"], { encoding: "utf8" });
            assert.match(text(p.apiserverCert), /IP Address:10\.213\.65\.11/);
            assert.match(text(p.apiserverCert), /IP Address:127\.0\.0\.1/);
            assert.match(text(p.adminCert), /O = system:masters/);
            execFileSync("openssl", ["verify", "-CAfile", p.caCert, p.apiserverCert, p.adminCert]);
            assert.match(kubeconfig(dir, "https://10.213.65.11:6443"), /server: https:\/\/10\.213\.65\.11:6443/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("lays out 3scale's Redis with Recreate, a persistent volume and the shared redis-config", function () {
        const objects = threescaleObjects({ "backend-redis-storage": "/v/b", "system-redis-storage": "/v/s", "zync-database-data": "/v/z" }) as any[];
        const byName = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
        for (const redis of ["backend-redis", "system-redis"]) {
            const d = byName("Deployment", redis);
            assert.equal(d.spec.strategy.type, "Recreate");
            assert.deepEqual(d.spec.template.spec.volumes.map((v: any) => v.persistentVolumeClaim?.claimName ?? v.configMap?.name), [`${redis}-storage`, "redis-config"]);
        }
        assert.equal(byName("PersistentVolume", "3scale-backend-redis-storage").spec.hostPath.path, "/v/b");
        const conf = byName("ConfigMap", "redis-config").data["redis.conf"];
        assert.equal(conf, REDIS_CONF);
        assert.deepEqual(conf.split("\n").filter((l: string) => /^(save|appendonly) /.test(l)), ["save 900 1", "save 300 10", "save 60 10000", "appendonly yes"]);
        for (const [name, n] of Object.entries(ZYNC_REPLICAS)) assert.equal(byName("Deployment", name).spec.replicas, n);
        assert.equal(objects[0].kind, "Namespace");
    });
});
