/**
 * A Kafka scenario through the real engine: the sandbox's legacy Kafka + ZooKeeper site, a stack
 * of the site program for it, traffic through kafkajs, and what the engine tests read and assert
 * about the hosts (which install runs, the legacy files, the seeded data and group offsets).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { exec, Inventory } from "../../sandbox";
import { kafkaClient, seededMessage } from "../../sandbox/sites/kafka-dataset";
import { forgetStack, projectRoot } from "../../tools/engine";
import { TreeSnapshot, treeDiff, treeSnapshot } from "./tree";

/** The site program's Pulumi project. */
export const PROJECT = "middleware";
/** The component's name in the site program (and in the hosts' journals). */
export const COMPONENT = "kafka";
/** The hosts of the site. */
export const HOSTS = ["h1", "h2", "h3"] as const;
/** The managed root of the default layout. */
export const MANAGED_ROOT = "/app/middleware/kafka";

/** Runs `cmd` on `host` and returns its stdout; throws on a non-zero exit. */
export async function onHost(host: string, cmd: string): Promise<string> {
    const r = await exec(host, cmd);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

/** The legacy installs, init scripts and configs (the configs live in the install dirs) of every host. */
export async function legacyTrees(inv: Inventory): Promise<Record<string, TreeSnapshot>> {
    const k = inv.kafka!;
    const out: Record<string, TreeSnapshot> = {};
    for (const h of HOSTS) out[h] = await treeSnapshot(h, [k.zookeeperDir, k.kafkaDir, k.zookeeperInit, k.kafkaInit, `${k.zookeeperDataDir}/myid`]);
    return out;
}

/**
 * The file ZooKeeper 3.5+ itself writes beside zoo.cfg whenever it joins a quorum: the ensemble's
 * members and `version=<zxid>` of the last membership it saw, which moves with every election
 * (a plain restart of the legacy server rewrites it too). Its members must come back; its
 * version line is the server's, not the installer's.
 */
export const ZOOKEEPER_DYNAMIC_FILE = "zoo.cfg.dynamic.next";

/** The members listed in {@link ZOOKEEPER_DYNAMIC_FILE} under `confDir` on every host. */
export async function dynamicMembers(confDir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const h of HOSTS) out[h] = await onHost(h, `grep -v '^version=' ${confDir}/${ZOOKEEPER_DYNAMIC_FILE} || :`);
    return out;
}

/**
 * Asserts every host's legacy tree is byte for byte as before, except the content of
 * {@link ZOOKEEPER_DYNAMIC_FILE} (its type, mode and owner count; its members are compared by
 * the caller through {@link dynamicMembers}).
 */
export function assertTreesBack(before: Record<string, TreeSnapshot>, now: Record<string, TreeSnapshot>, what: string): void {
    const contentless = (entry: string | undefined) => entry?.replace(/ [0-9a-f]{64}$/, " <content>");
    for (const h of HOSTS) {
        const diff = treeDiff(before[h], now[h]);
        for (const file of Object.keys(diff).filter((f) => f.endsWith(`/conf/${ZOOKEEPER_DYNAMIC_FILE}`))) {
            assert.equal(contentless(diff[file][1]), contentless(diff[file][0]), `${what}: ${h}: ${file} changed more than its content`);
            delete diff[file];
        }
        assert.deepEqual(diff, {}, `${what}: ${h}: legacy files differ from before the migration`);
    }
}

/** Which install each daemon runs from on `host`: the jar dir on its java command line. */
export async function runningFrom(host: string): Promise<{ zookeeper: string; kafka: string }> {
    const ps = await onHost(host, "for p in $(pgrep -x java); do tr '\\0' ' ' </proc/$p/cmdline; echo; done");
    const find = (main: string) => {
        const line = ps.split("\n").find((l) => l.includes(main)) ?? "";
        return /-cp (\S+)\/\*/.exec(line)?.[1] ?? "not running";
    };
    return { zookeeper: find("QuorumPeerMain"), kafka: find("kafka.Kafka") };
}

/** Every message of the seeded topic, checked against the generator; returns how many there are. */
export async function assertSeededData(inv: Inventory, what: string): Promise<number> {
    const k = inv.kafka!;
    const kafka = kafkaClient(k.bootstrap, `engine-check-${Date.now()}`);
    const consumer = kafka.consumer({ groupId: `engine-check-${process.pid}-${Date.now()}` });
    const seen = new Map<number, string>();
    await consumer.connect();
    try {
        await consumer.subscribe({ topic: k.seededTopic, fromBeginning: true });
        await consumer.run({ eachMessage: async ({ message }) => {
            const v = JSON.parse(message.value!.toString()) as { seq: number };
            seen.set(v.seq, message.value!.toString());
        } });
        const deadline = Date.now() + 60_000;
        while (seen.size < k.seededMessages && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    } finally {
        await consumer.disconnect();
    }
    assert.equal(seen.size, k.seededMessages, `${what}: messages of ${k.seededTopic} read back`);
    for (let i = 0; i < k.seededMessages; i++) assert.equal(seen.get(i), seededMessage(i, k.seed).value, `${what}: message ${i} of ${k.seededTopic}`);
    return seen.size;
}

/** The committed offsets of the seeded group, by partition. */
export async function billingOffsets(inv: Inventory): Promise<Record<string, string>> {
    const k = inv.kafka!;
    const admin = kafkaClient(k.bootstrap, "engine-offsets").admin();
    await admin.connect();
    try {
        const [topic] = await admin.fetchOffsets({ groupId: k.seededGroup, topics: [k.seededTopic] });
        return Object.fromEntries(topic.partitions.map((p) => [String(p.partition), p.offset]));
    } finally {
        await admin.disconnect();
    }
}

/** The step resources in a stack's state, as `host step`, sorted. */
export async function stepsInState(stack: Stack): Promise<string[]> {
    const state = await stack.exportStack();
    return ((state.deployment.resources ?? []) as { type: string; urn: string }[])
        .filter((r) => r.type === "command:remote:Command")
        .map((r) => {
            const m = new RegExp(`::${COMPONENT}-(h\\d+)-(.+)$`).exec(r.urn);
            assert.ok(m, `unexpected step URN ${r.urn}`);
            return `${m[1]} ${m[2]}`;
        })
        .sort();
}

/** Forgets a stack of the local backend. */
export async function dropStack(stack: Stack, name: string): Promise<void> {
    await forgetStack(stack, PROJECT, name, path.join(projectRoot, "stacks"));
}
