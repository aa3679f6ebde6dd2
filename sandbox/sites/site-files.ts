/**
 * What every legacy site's layout does alike: a secret made once per sandbox, files put into a
 * host's own view, and waiting until the host holds the site's VIP.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HOST_INTERFACE, SandboxSettings, vipAddress } from "../config";
import { hostFileOnRoot } from "../host-fs";
import { waitFor } from "../run";
import type { SiteContext } from "./site";

/** The secret in `file` (mode 0600), made of 16 random bytes the first time it is asked for. */
export function ensureSecretFile(file: string): string {
    if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, randomBytes(16).toString("hex") + "\n", { mode: 0o600 });
    }
    return fs.readFileSync(file, "utf8").trim();
}

/** Writes `content` at `hostPath` as `host` sees it, with `mode`. */
export function putOnHost(s: SandboxSettings, host: string, hostPath: string, content: string, mode: number): void {
    const file = hostFileOnRoot(s, host, hostPath);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
}

/** Waits up to 30 s until `host` holds the sandbox's VIP. */
export async function waitForVip(ctx: SiteContext, host: string): Promise<void> {
    const vip = vipAddress(ctx.settings);
    const ok = await waitFor(async () => (await ctx.exec(host, `ip -4 -o addr show dev ${HOST_INTERFACE}`)).stdout.includes(` ${vip}/`), 30_000, 250);
    if (!ok) throw new Error(`${host} did not take the VIP ${vip}; see /var/log/keepalived.log on ${host}`);
}
