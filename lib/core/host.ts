/**
 * Hosts of a site: how to reach them over SSH, validated before anything is created.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import { checkAddress, checkName, checkPort, Problems, Validator } from "./validate";

/** Default SSH port. */
export const DEFAULT_SSH_PORT = 22;
/** Default SSH user: the runbooks' steps need root (service control, /etc, /app). */
export const DEFAULT_SSH_USER = "root";

/** A jump host (bastion) through which a host is reached. */
export interface JumpHostArgs {
    /** Address or DNS name of the jump host. */
    readonly address: string;
    /** @default - 22 */
    readonly port?: number;
    /** @default - `root` */
    readonly user?: string;
    /** Private key for the jump host, as a secret. */
    readonly privateKey: pulumi.Input<string>;
    /** The jump host's public key, `ssh-ed25519 AAAA...` as `ssh-keyscan` prints it. */
    readonly hostKey: string;
}

/** One host of a site's inventory. */
export interface HostArgs {
    /** Inventory name, used in step names and messages (`h1`, `redis-a`). */
    readonly name: string;
    /** Address or DNS name the library connects to. */
    readonly address: string;
    /** @default - 22 */
    readonly port?: number;
    /** @default - `root` */
    readonly user?: string;
    /**
     * Private key (OpenSSH or PEM). Set it with `pulumi config set --secret`; it is kept
     * encrypted in the state and never reaches a command line.
     */
    readonly privateKey: pulumi.Input<string>;
    /**
     * The host's public key, pinned: a connection to a host presenting any other key fails.
     * Obtain it with `ssh-keyscan -t ed25519 <address>` and check it out of band.
     */
    readonly hostKey: string;
    /** @default - direct connection, no jump host */
    readonly proxy?: JumpHostArgs;
}

const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( \S.*)?$/;

/** Validator: an OpenSSH public key line. */
export const checkHostKey: Validator = (value) =>
    typeof value === "string" && HOST_KEY.test(value.trim())
        ? []
        : ["must be an OpenSSH public key line such as 'ssh-ed25519 AAAA...' (see ssh-keyscan)"];

function checkEndpoint(p: Problems, path: string, h: JumpHostArgs): void {
    p.check(`${path}.address`, h.address, checkAddress)
        .checkOptional(`${path}.port`, h.port, checkPort)
        .checkOptional(`${path}.user`, h.user, checkName)
        .check(`${path}.hostKey`, h.hostKey, checkHostKey);
    if (h.privateKey === undefined || h.privateKey === "") p.add(`${path}.privateKey`, "is required", h.privateKey);
}

/** Records every problem of one host's arguments under `path` (e.g. `args.master`). */
export function checkHost(p: Problems, path: string, h: HostArgs | undefined): void {
    if (!h) {
        p.add(path, "is required", h);
        return;
    }
    p.check(`${path}.name`, h.name, checkName);
    checkEndpoint(p, path, h);
    if (h.proxy) checkEndpoint(p, `${path}.proxy`, h.proxy);
}

/** How a Step connects: how often and how long to try before a host counts as unreachable. */
export interface DialLimits {
    /** Connection attempts (the Command's `dialErrorLimit`). */
    readonly dialErrorLimit: number;
    /** Seconds each attempt may take (the Command's `perDialTimeout`). */
    readonly perDialTimeout: number;
}

function endpoint(h: JumpHostArgs, limits: DialLimits) {
    return {
        host: h.address,
        port: h.port ?? DEFAULT_SSH_PORT,
        user: h.user ?? DEFAULT_SSH_USER,
        privateKey: h.privateKey,
        hostKey: h.hostKey.trim(),
        ...limits,
    };
}

/**
 * The `connection` of a host's Commands, marked secret: it holds the private key. The host key
 * is pinned; a jump host goes through `proxy`, with its own pinned key.
 */
export function connectionOf(h: HostArgs, limits: DialLimits): pulumi.Output<types.input.remote.ConnectionArgs> {
    const connection: types.input.remote.ConnectionArgs = h.proxy
        ? { ...endpoint(h, limits), proxy: endpoint(h.proxy, limits) }
        : endpoint(h, limits);
    return pulumi.secret(pulumi.output(connection));
}
