import * as fs from "fs";
import { bridgeAddress, hostAddress, hostPaths, SandboxSettings, statePaths } from "./config";
import { publicKeyOf } from "./keys";
import type { InventoryFastdfs } from "./sites/legacy-fastdfs";
import type { ThreescaleFacts } from "./sites/threescale";

/** How to reach one sandbox host over SSH. */
export interface InventoryHost {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    readonly user: string;
    /** The client key every host accepts for root. */
    readonly privateKeyPath: string;
    /** The host's key as "ssh-ed25519 AAAA...": pin it (`hostKey`), do not trust on first use. */
    readonly hostPublicKey: string;
}

/** The keepalived virtual address of a site. */
export interface InventoryVip {
    readonly address: string;
    readonly prefixLength: number;
    /** Interface name on the hosts that carries the VIP. */
    readonly interface: string;
    readonly virtualRouterId: number;
}

/** The legacy Redis pair as laid out by `--site legacy-redis`. */
export interface InventoryRedis {
    /** The Redis version the pair runs, as its `redis-server --version` reports it, e.g. "7.0.15". */
    readonly version: string;
    /** Where its binaries were copied from: `/usr/bin` (Debian's) or `/opt/middleware-redis/<version>/bin`. */
    readonly binariesFrom: string;
    readonly port: number;
    readonly master: string;
    readonly slave: string;
    /** File (mode 0600) holding the `requirepass`/`masterauth` password. */
    readonly passwordFile: string;
    readonly config: string;
    readonly installDir: string;
    readonly dataDir: string;
    readonly initScript: string;
    readonly keepalivedInstallDir: string;
    readonly keepalivedConfig: string;
    /** Keys in the reproducible data set loaded into the master. */
    readonly datasetKeys: number;
    readonly datasetSeed: number;
}

/** The legacy PostgreSQL site as laid out by `--site legacy-postgres`. */
export interface InventoryPostgres {
    /** Major version of the primary's binaries, e.g. "15". */
    readonly version: string;
    /** The server build ("15.18", Debian's; "15.17", the npm package's). */
    readonly server: string;
    /** The server's binaries, and the client tools (Debian's 15). */
    readonly binDir: string;
    readonly clientBinDir: string;
    readonly dataDir: string;
    readonly socketDir: string;
    readonly port: number;
    /** The host of the primary. */
    readonly primary: string;
    /** Hosts with PostgreSQL installed and no cluster. */
    readonly spares: readonly string[];
    /** The seeded application database, its owner, and the file (mode 0600) holding that user's password. */
    readonly database: string;
    readonly appUser: string;
    readonly appPasswordFile: string;
    /** Rows of the orders table, the database's size after seeding, and how long seeding took. */
    readonly orders: number;
    readonly databaseBytes: number;
    readonly seedSeconds: number;
}

/** The legacy Kafka + ZooKeeper site as laid out by `--site legacy-kafka`. */
export interface InventoryKafka {
    readonly kafkaVersion: string;
    readonly scala: string;
    readonly zookeeperVersion: string;
    /** Each host runs a ZooKeeper node and a broker; ids are the host numbers. */
    readonly hosts: readonly { readonly name: string; readonly myid: number; readonly brokerId: number }[];
    /** `address:port` of every broker. */
    readonly bootstrap: readonly string[];
    readonly zookeeperDir: string;
    readonly kafkaDir: string;
    readonly zookeeperInit: string;
    readonly kafkaInit: string;
    readonly zookeeperDataDir: string;
    readonly kafkaDataDir: string;
    /** The topic holding the seeded data set, and the topic for traffic during a change. */
    readonly seededTopic: string;
    readonly trafficTopic: string;
    /** The group with committed offsets on the seeded topic, and those offsets by partition. */
    readonly seededGroup: string;
    readonly seededMessages: number;
    readonly seed: number;
    readonly billingOffsets: Record<string, string>;
}

/** Everything a stack or test needs to use the sandbox; printed by `sandbox inventory`. */
export interface Inventory {
    /** Site laid out on the hosts, "bare" for hosts only. */
    readonly site: string;
    readonly subnet: string;
    /** The root namespace's address on the bridge (where the Pulumi engine connects from). */
    readonly bridgeAddress: string;
    /** An OpenSSH known_hosts file listing every host's address and key. */
    readonly knownHostsPath: string;
    readonly hosts: readonly InventoryHost[];
    readonly vip?: InventoryVip;
    readonly redis?: InventoryRedis;
    readonly postgres?: InventoryPostgres;
    readonly kafka?: InventoryKafka;
    readonly fastdfs?: InventoryFastdfs;
    /** The 3scale site on its Kubernetes cluster (`--site 3scale`). */
    readonly threescale?: ThreescaleFacts;
}

/** The site-independent part of the inventory. */
export function baseInventory(s: SandboxSettings, hosts: readonly string[], site: string): Inventory {
    const p = statePaths(s);
    return {
        site,
        subnet: s.subnet,
        bridgeAddress: bridgeAddress(s),
        knownHostsPath: p.knownHosts,
        hosts: hosts.map((name) => ({
            name,
            address: hostAddress(s, name),
            port: 22,
            user: "root",
            privateKeyPath: p.clientKey,
            hostPublicKey: publicKeyOf(hostPaths(s, name).hostKey),
        })),
    };
}

/** Saves the inventory where {@link readInventory} finds it. */
export function writeInventory(s: SandboxSettings, inv: Inventory): void {
    fs.writeFileSync(statePaths(s).inventoryFile, JSON.stringify(inv, null, 2) + "\n");
}

/** The inventory of the running sandbox; throws when there is none. */
export function readInventory(s: SandboxSettings): Inventory {
    const file = statePaths(s).inventoryFile;
    if (!fs.existsSync(file)) throw new Error(`no sandbox at ${s.stateDir} (run: npm run sandbox -- up)`);
    return JSON.parse(fs.readFileSync(file, "utf8")) as Inventory;
}
