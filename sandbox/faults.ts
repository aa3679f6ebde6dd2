import { SandboxSettings, settingsFromEnv } from "./config";
import { fillDisk, freeDisk } from "./disk";
import { bootHost, haltHost } from "./host-process";
import { requireHost } from "./lifecycle";
import { setLink } from "./network";
import { withLock } from "./lock";
import { requireRoot } from "./prerequisites";

/** The ways the sandbox can break (and mend) a host. */
export const FAULT_KINDS = ["down", "up", "cut", "heal", "fill-disk", "free-disk"] as const;

/**
 * - `down`: every process of the host is killed by pid with SIGKILL, as in a crash; its disks stay.
 * - `up`: the host boots again: fresh /run, sshd, then the site's boot services.
 * - `cut` / `heal`: its link to the bridge goes down / up (the host keeps running).
 * - `fill-disk` / `free-disk`: its /app volume is filled to ENOSPC / freed.
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Applies a fault to one host of the running sandbox. */
export async function fault(host: string, kind: FaultKind): Promise<void> {
    requireRoot();
    const s = settingsFromEnv();
    requireHost(s, host);
    return withLock(s, () => applyFault(s, host, kind));
}

async function applyFault(s: SandboxSettings, host: string, kind: FaultKind): Promise<void> {
    switch (kind) {
        case "down":
            return haltHost(s, host);
        case "up":
            return bootHost(s, host);
        case "cut":
            return setLink(host, false);
        case "heal":
            return setLink(host, true);
        case "fill-disk":
            return fillDisk(s, host);
        case "free-disk":
            return freeDisk(s, host);
        default:
            throw new Error(`unknown fault ${JSON.stringify(kind)}; expected one of ${FAULT_KINDS.join(", ")}`);
    }
}

/** Narrows a string to a {@link FaultKind}, with a clear error otherwise. */
export function parseFaultKind(value: string): FaultKind {
    if ((FAULT_KINDS as readonly string[]).includes(value)) return value as FaultKind;
    throw new Error(`unknown fault ${JSON.stringify(value)}; expected one of ${FAULT_KINDS.join(", ")}`);
}
