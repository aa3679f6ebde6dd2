/**
 * The sandbox: local test hosts h1..hN as Linux namespaces joined by a bridge, each with its
 * own address, hostname, sshd and view of the middleware paths, optionally carrying a site
 * laid out as a runbook found it. Used by the sandbox and engine tests, the benchmarks and
 * the demo; `npm run sandbox -- help` is the command-line face of the same API.
 *
 * @module
 */
import { settingsFromEnv } from "./config";
import { execOnHost, ExecOptions } from "./host-process";
import { Inventory, readInventory } from "./inventory";
import { requireHost } from "./lifecycle";
import { RunResult } from "./run";

export { down, DownOptions, up, UpOptions } from "./lifecycle";
export { fault, FaultKind, FAULT_KINDS } from "./faults";
export { status, formatStatus, HostStatus, SandboxStatus } from "./status";
export { Inventory, InventoryHost, InventoryKafka, InventoryPostgres, InventoryRedis, InventoryVip } from "./inventory";
export { DatasetOptions } from "./sites/site";
export { SITES } from "./sites";
export {
    DEBIAN_REDIS_VERSION,
    REDIS_PUBLISH_ROOT,
    RedisServerBuild,
    redisBinDir,
    redisVersions,
    SANDBOX_REDIS_VERSIONS,
    SandboxRedisVersion,
} from "./sites/redis-versions";
export { setQuiet } from "./progress";
export { DEFAULT_STATE_DIR, DEFAULT_SUBNET } from "./config";
export { ExecOptions } from "./host-process";
export { RunResult } from "./run";

/** The running sandbox's inventory (hosts, keys, VIP, site facts). */
export function inventory(): Inventory {
    return readInventory(settingsFromEnv());
}

/**
 * Runs a shell command on a host the way an SSH session would see it (the host's own paths,
 * hostname, processes and network), without going through sshd.
 */
export async function exec(host: string, cmd: string, opts: ExecOptions = {}): Promise<RunResult> {
    const s = settingsFromEnv();
    requireHost(s, host);
    return execOnHost(s, host, cmd, opts);
}
export { armCrashPoint, CrashPointRef, CrashTarget, crashDuring, disarmCrashPoint } from "./crash-points";
