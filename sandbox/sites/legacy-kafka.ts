import * as fs from "fs";
import * as path from "path";
import { hostAddress, hostPaths, SandboxSettings } from "../config";
import { hostFileOnRoot } from "../host-fs";
import { progress } from "../progress";
import { waitFor } from "../run";
import { DEFAULT_SEEDED_MESSAGES, kafkaClient, SEEDED_GROUP, SEEDED_TOPIC, seedKafka, TRAFFIC_TOPIC, waitForBrokers } from "./kafka-dataset";
import {
    KafkaHostConfig,
    LEGACY_KAFKA_SITE as L,
    renderKafkaInit,
    renderLog4j,
    renderServerProperties,
    renderZookeeperInit,
    renderZooCfg,
    ZOOKEEPER_JAR,
} from "./kafka-files";
import { LEGACY_KAFKA_JARS, middlewareJars } from "./kafka-jars";
import { Site, SiteContext } from "./site";
import { putOnHost } from "./site-files";

/** The site's name, as `up --site` takes it. */
export const LEGACY_KAFKA_SITE_NAME = "legacy-kafka";
const SITE = LEGACY_KAFKA_SITE_NAME;
const BOOT_SERVICES = ["zookeeper", "kafka"];
/** Time a JVM gets to come up on a loaded 2-core machine. */
const START_TIMEOUT_MS = 180_000;

function copyJars(s: SandboxSettings, host: string, fromDir: string, hostDir: string, only?: RegExp): void {
    const dir = hostFileOnRoot(s, host, hostDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const jar of fs.readdirSync(fromDir).filter((f) => f.endsWith(".jar") && (!only || only.test(f)))) {
        fs.copyFileSync(path.join(fromDir, jar), path.join(dir, jar));
        fs.chmodSync(path.join(dir, jar), 0o644);
    }
}

/** Writes one host's hand-installed layout; skipped when the host already carries the site. */
function layOutHost(s: SandboxSettings, c: KafkaHostConfig, jarsDir: string): void {
    const hp = hostPaths(s, c.host);
    if (fs.existsSync(hp.siteMarker)) return;
    copyJars(s, c.host, jarsDir, L.zookeeperLib, ZOOKEEPER_JAR);
    copyJars(s, c.host, jarsDir, L.kafkaLibs);
    putOnHost(s, c.host, L.zookeeperConfig, renderZooCfg(c), 0o644);
    putOnHost(s, c.host, L.zookeeperLog4j, renderLog4j(), 0o644);
    putOnHost(s, c.host, L.kafkaConfig, renderServerProperties(c), 0o644);
    putOnHost(s, c.host, L.kafkaLog4j, renderLog4j(), 0o644);
    putOnHost(s, c.host, `${L.zookeeperDataDir}/myid`, `${c.id}\n`, 0o644);
    fs.mkdirSync(hostFileOnRoot(s, c.host, L.kafkaDataDir), { recursive: true, mode: 0o755 });
    putOnHost(s, c.host, L.zookeeperInit, renderZookeeperInit(), 0o755);
    putOnHost(s, c.host, L.kafkaInit, renderKafkaInit(), 0o755);
    fs.writeFileSync(hp.bootServices, BOOT_SERVICES.join("\n") + "\n");
    fs.writeFileSync(hp.siteMarker, SITE + "\n");
}

async function startService(ctx: SiteContext, host: string, service: string): Promise<void> {
    const r = await ctx.exec(host, `service ${service} start`);
    if (r.code !== 0) throw new Error(`${host}: service ${service} start failed: ${(r.stderr || r.stdout).trim()}`);
}

/** `Mode:` of a ZooKeeper server as its `srvr` reports it (FourLetterWordMain, shipped in the ZooKeeper jar), or "" when it does not answer. */
export async function zookeeperMode(ctx: SiteContext, host: string, classpath: string): Promise<string> {
    const addr = hostAddress(ctx.settings, host);
    const r = await ctx.exec(host, `${L.java} -Xmx32m -cp '${classpath}/*' org.apache.zookeeper.client.FourLetterWordMain ${addr} ${L.clientPort} srvr 2>/dev/null`);
    return /^Mode: (\w+)/m.exec(r.stdout)?.[1] ?? "";
}

/** Waits until `hosts` each report a ZooKeeper mode, exactly one of them `leader`. */
async function waitForEnsemble(ctx: SiteContext, hosts: readonly string[]): Promise<Record<string, string>> {
    let modes: Record<string, string> = {};
    const ok = await waitFor(async () => {
        modes = {};
        for (const h of hosts) modes[h] = await zookeeperMode(ctx, h, L.zookeeperLib);
        const values = Object.values(modes);
        return values.filter((m) => m === "leader").length === 1 && values.every((m) => m === "leader" || m === "follower");
    }, START_TIMEOUT_MS, 1000);
    if (!ok) throw new Error(`the ZooKeeper ensemble did not form: ${JSON.stringify(modes)}; see /var/log/zookeeper/zookeeper.out on the hosts`);
    return modes;
}

function brokersOf(s: SandboxSettings, hosts: readonly string[]): string[] {
    return hosts.map((h) => `${hostAddress(s, h)}:${L.kafkaPort}`);
}

/**
 * Kafka 2.3.0 and ZooKeeper 3.5.6 on three hosts as the runbook found them: on each host a
 * ZooKeeper node (myid = host number) and a broker (broker.id = host number), hand-installed
 * under /app/soft with SysV scripts. Started last host first, so that the last host leads the
 * ensemble and is the controller (the migration rolls them last). Topics `orders` (seeded) and
 * `events`, RF 3 and min.insync.replicas 2, and group `billing` committed half way.
 */
export const legacyKafka: Site = {
    name: SITE,
    minHosts: 3,

    async layOut(ctx, previous) {
        const s = ctx.settings;
        const hosts = ctx.hosts.slice(0, 3);
        const jars = middlewareJars(LEGACY_KAFKA_JARS);
        const ensemble = hosts.map((h, i) => ({ id: i + 1, address: hostAddress(s, h) }));
        const seeded = previous?.seededMessages as number | undefined;
        const messages = ctx.dataset.keys ?? seeded ?? DEFAULT_SEEDED_MESSAGES;
        const seed = ctx.dataset.seed ?? (previous?.seed as number | undefined) ?? 1;
        if (seeded !== undefined && (messages !== seeded || seed !== previous?.seed)) {
            throw new Error(`the site holds ${seeded} seeded messages (seed ${previous?.seed}); to seed others, run down first`);
        }
        hosts.forEach((host, i) => layOutHost(s, { host, id: i + 1, address: hostAddress(s, host), ensemble }, jars.dir));
        const order = [...hosts].reverse();
        const brokers = brokersOf(s, hosts);
        if (seeded !== undefined) {
            // Already laid out: only start what is stopped, never reseed or fail.
            try {
                const legacy = await ctx.exec(hosts[0], `test -d ${L.kafkaDir}`);
                if (legacy.code !== 0) {
                    progress(`legacy-kafka: ${L.kafkaDir} is gone on ${hosts[0]} (migrated, or half way): left as it is`);
                    return previous!;
                }
                for (const service of BOOT_SERVICES) for (const h of order) await startService(ctx, h, service);
                await waitForEnsemble(ctx, hosts);
            } catch (e) {
                progress(`warning: legacy-kafka is not as laid out: ${(e as Error).message}`);
            }
            return previous!;
        }
        const started = Date.now();
        for (const h of order) await startService(ctx, h, "zookeeper");
        const modes = await waitForEnsemble(ctx, hosts);
        progress(`legacy-kafka: ZooKeeper ${LEGACY_KAFKA_JARS.zookeeper} ensemble up (${Object.entries(modes).map(([h, m]) => `${h} ${m}`).join(", ")})`);
        const admin = kafkaClient(brokers, "sandbox-layout").admin();
        await startService(ctx, order[0], "kafka");
        await admin.connect();
        try {
            await waitForBrokers(admin, 1, START_TIMEOUT_MS);
            for (const h of order.slice(1)) await startService(ctx, h, "kafka");
            const controller = await waitForBrokers(admin, hosts.length, START_TIMEOUT_MS);
            progress(`legacy-kafka: Kafka ${LEGACY_KAFKA_JARS.kafka} brokers up, controller ${controller}, after ${((Date.now() - started) / 1000).toFixed(0)} s`);
        } finally {
            await admin.disconnect();
        }
        const billingOffsets = await seedKafka(brokers, messages, seed);
        progress(`legacy-kafka: ${messages} messages in ${SEEDED_TOPIC}, group ${SEEDED_GROUP} committed at ${JSON.stringify(billingOffsets)}`);
        return { seededMessages: messages, seed, billingOffsets };
    },

    inventory(ctx, facts) {
        const s = ctx.settings;
        const hosts = ctx.hosts.slice(0, 3);
        return {
            kafka: {
                kafkaVersion: LEGACY_KAFKA_JARS.kafka,
                scala: LEGACY_KAFKA_JARS.scala,
                zookeeperVersion: LEGACY_KAFKA_JARS.zookeeper,
                hosts: hosts.map((h, i) => ({ name: h, myid: i + 1, brokerId: i + 1 })),
                bootstrap: brokersOf(s, hosts),
                zookeeperDir: L.zookeeperDir,
                kafkaDir: L.kafkaDir,
                zookeeperInit: L.zookeeperInit,
                kafkaInit: L.kafkaInit,
                zookeeperDataDir: L.zookeeperDataDir,
                kafkaDataDir: L.kafkaDataDir,
                seededTopic: SEEDED_TOPIC,
                trafficTopic: TRAFFIC_TOPIC,
                seededGroup: SEEDED_GROUP,
                seededMessages: facts.seededMessages as number,
                seed: facts.seed as number,
                billingOffsets: facts.billingOffsets as Record<string, string>,
            },
        };
    },
};
