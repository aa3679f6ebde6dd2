import * as fs from "fs";
import * as path from "path";
import { must } from "../run";

/*
 * The cluster's keys and certificates, made with openssl: a CA, the API server's serving
 * certificate, one client certificate in system:masters for the control plane, the kubelet and
 * the operator (the sandbox has one trusted party), and the service-account signing key pair.
 */

/** Files of the cluster's PKI in one folder. */
export function pkiPaths(dir: string) {
    return {
        dir,
        caCert: path.join(dir, "ca.crt"),
        caKey: path.join(dir, "ca.key"),
        apiserverCert: path.join(dir, "apiserver.crt"),
        apiserverKey: path.join(dir, "apiserver.key"),
        adminCert: path.join(dir, "admin.crt"),
        adminKey: path.join(dir, "admin.key"),
        serviceAccountKey: path.join(dir, "sa.key"),
        serviceAccountPub: path.join(dir, "sa.pub"),
    };
}

async function openssl(args: string[]): Promise<void> {
    await must("openssl", args);
}

/**
 * Makes the PKI in `dir` unless it is there: the API server's certificate is valid for
 * `addresses` (plus 127.0.0.1 and the first service address 10.96.0.1) and the in-cluster names.
 */
export async function ensurePki(dir: string, addresses: readonly string[]): Promise<void> {
    const p = pkiPaths(dir);
    if (fs.existsSync(p.serviceAccountPub)) return;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=sandbox-kubernetes-ca",
        "-keyout", p.caKey, "-out", p.caCert]);
    const sans = ["127.0.0.1", "10.96.0.1", ...addresses].map((a) => `IP:${a}`)
        .concat(["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost"].map((d) => `DNS:${d}`));
    await signed(p, "apiserver", "/CN=kube-apiserver", `subjectAltName=${sans.join(",")}\nextendedKeyUsage=serverAuth`);
    await signed(p, "admin", "/O=system:masters/CN=sandbox-admin", "extendedKeyUsage=clientAuth");
    await openssl(["genrsa", "-out", p.serviceAccountKey, "2048"]);
    await openssl(["rsa", "-in", p.serviceAccountKey, "-pubout", "-out", p.serviceAccountPub]);
}

async function signed(p: ReturnType<typeof pkiPaths>, name: string, subject: string, extensions: string): Promise<void> {
    const key = path.join(p.dir, `${name}.key`);
    const csr = path.join(p.dir, `${name}.csr`);
    const ext = path.join(p.dir, `${name}.ext`);
    fs.writeFileSync(ext, `${extensions}\n`);
    await openssl(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr]);
    await openssl(["x509", "-req", "-in", csr, "-CA", p.caCert, "-CAkey", p.caKey, "-CAcreateserial", "-days", "3650",
        "-extfile", ext, "-out", path.join(p.dir, `${name}.crt`)]);
    fs.rmSync(csr);
    fs.rmSync(ext);
}

/** A kubeconfig for `server` with the admin client certificate, embedded so the file stands alone. */
export function kubeconfig(dir: string, server: string): string {
    const p = pkiPaths(dir);
    const b64 = (f: string) => fs.readFileSync(f).toString("base64");
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: sandbox",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${b64(p.caCert)}`,
        "users:",
        "- name: sandbox-admin",
        "  user:",
        `    client-certificate-data: ${b64(p.adminCert)}`,
        `    client-key-data: ${b64(p.adminKey)}`,
        "contexts:",
        "- name: sandbox",
        "  context:",
        "    cluster: sandbox",
        "    user: sandbox-admin",
        "current-context: sandbox",
        "",
    ].join("\n");
}
