import * as fs from "fs";
import { hostAddress, hostPaths, SandboxSettings, statePaths } from "./config";
import { must } from "./run";

/*
 * Keys live in the state dir's keys/ and survive `down`, so a stack that pinned a host key
 * keeps working across sandbox rebuilds; `down --purge` removes them.
 */

async function ensureKeyPair(file: string, comment: string): Promise<void> {
    if (fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return;
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/** The public key line ("ssh-ed25519 AAAA...") of a key pair, without its comment. */
export function publicKeyOf(privateKeyFile: string): string {
    const [type, body] = fs.readFileSync(`${privateKeyFile}.pub`, "utf8").trim().split(/\s+/);
    return `${type} ${body}`;
}

/**
 * Makes the client key, one host key per host, the authorized_keys every host's sshd reads,
 * and a known_hosts file listing every host's address with its key.
 */
export async function ensureKeys(s: SandboxSettings, hosts: readonly string[], extraAuthorized: readonly string[] = []): Promise<void> {
    const p = statePaths(s);
    fs.mkdirSync(p.keysDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(p.keysDir, 0o700);
    await ensureKeyPair(p.clientKey, "pulumi-middleware-sandbox-client");
    for (const h of hosts) await ensureKeyPair(hostPaths(s, h).hostKey, `sandbox-${h}`);
    const authorized = [publicKeyOf(p.clientKey), ...extraAuthorized.map((k) => k.trim()).filter(Boolean)];
    fs.writeFileSync(p.authorizedKeys, authorized.join("\n") + "\n", { mode: 0o600 });
    const known = hosts.map((h) => `${hostAddress(s, h)} ${publicKeyOf(hostPaths(s, h).hostKey)}`);
    fs.writeFileSync(p.knownHosts, known.join("\n") + "\n", { mode: 0o644 });
}
