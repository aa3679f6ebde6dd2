import * as assert from "node:assert/strict";
import { freshLegacyRedis } from "../../tools/redis-site";
import type { Stack } from "@pulumi/pulumi/automation";
import { Inventory, setQuiet } from "../../sandbox";
import { startTraffic, Traffic, TrafficReport } from "../../bench/kafka-traffic";
import { KAFKA_STEPS } from "../../lib/kafka/plan";
import { freshLegacyKafka, kafkaSiteStack } from "../../tools/kafka-site";
import { journalMark, journalSince } from "../support/journal";
import { TreeSnapshot } from "../support/tree";
import {
    assertSeededData, assertTreesBack, dynamicMembers, billingOffsets, COMPONENT, dropStack, HOSTS, legacyTrees, MANAGED_ROOT, onHost, runningFrom, stepsInState,
} from "../support/kafka-scenario";

/*
 * The Kafka + ZooKeeper migration through the real engine, on one legacy site and one stack,
 * with an idempotent producer (acks=all) and a consumer group running throughout:
 * a broker that cannot start in the managed layout fails `up` (naming the step and host) while
 * the cluster keeps serving; the fixed config resumes and finishes the migration; a second `up`
 * runs nothing; `destroy` rolls back node by node and leaves the legacy files byte for byte.
 */

const STACK = `test-kafka-${process.pid}`;
/** An address no host has: a broker told to listen there cannot start. */
const UNREACHABLE_LISTENER = (inv: Inventory) => `${inv.subnet.replace(/\.0\/24$/, "")}.250:9092`;

describe("engine: Kafka + ZooKeeper rolling migration and rollback (sandbox legacy-kafka)", function () {
    this.timeout(20 * 60 * 1000);
    let inv: Inventory;
    let stack: Stack;
    let legacyBefore: Record<string, TreeSnapshot>;
    let membersBefore: Record<string, string>;
    let offsetsBefore: Record<string, string>;
    let traffic: Traffic | undefined;
    let order: string[] = [];
    const figures: string[] = [];
    const note = (line: string) => {
        figures.push(line);
        console.log(`      ${line}`);
    };
    const trafficOf = (label: string) =>
        startTraffic({ brokers: inv.kafka!.bootstrap, topic: inv.kafka!.trafficTopic, groupId: `engine-${label}-${process.pid}`, runId: `${label}-${Date.now()}` });
    const report = (label: string, r: TrafficReport) => {
        note(`${label}: ${r.acknowledged}/${r.sent} acknowledged, ${r.lost} lost, ${r.duplicates} duplicates, ${r.foreign} foreign, produce gap ${r.produceGapMs} ms, ` +
            `consume gap ${r.consumeGapMs} ms${Object.keys(r.failures).length ? `, failures ${JSON.stringify(r.failures)}` : ""}`);
        assert.equal(r.lost, 0, `${label}: acknowledged messages never consumed by the group: ${r.lostIds.join(", ")}`);
        assert.equal(r.foreign, 0, `${label}: consumed ids the producer never sent`);
        assert.ok(r.acknowledged > 100, `${label}: the producer kept producing (${r.acknowledged} acknowledged)`);
        // The bench's goal is 2 s; a loaded 2-core machine gets more room, an outage would not fit.
        assert.ok(r.produceGapMs < 10_000, `${label}: the producer waited ${r.produceGapMs} ms for an acknowledgement`);
    };

    before(async () => {
        setQuiet(true);
        inv = await freshLegacyKafka();
        legacyBefore = await legacyTrees(inv);
        membersBefore = await dynamicMembers(`${inv.kafka!.zookeeperDir}/conf`);
        offsetsBefore = await billingOffsets(inv);
        assert.deepEqual(offsetsBefore, inv.kafka!.billingOffsets, "the seeded group's offsets as laid out");
    });

    after(async function () {
        this.timeout(300_000);
        await traffic?.stop(1000).catch(() => undefined);
        if (stack) await dropStack(stack, STACK);
        if (figures.length) console.log(`      figures:\n${figures.map((f) => `        ${f}`).join("\n")}`);
        // The other test files start from (or lay out) the legacy Redis site; leave it as the others do.
        await freshLegacyRedis();
    });

    it("fails `up` on a broker that cannot start in the managed layout, naming step and host; the cluster keeps serving and the broker is legacy again", async () => {
        stack = await kafkaSiteStack(STACK);
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { brokers: { host: string; brokerId: number; listener?: string }[] };
        order = kafka.brokers.map((b) => b.host);
        const broken = kafka.brokers[1];
        await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...kafka, brokers: kafka.brokers.map((b) => (b === broken ? { ...b, listener: UNREACHABLE_LISTENER(inv) } : b)) }) });
        traffic = await trafficOf("migration");
        const started = Date.now();
        const failure = await stack.up().then(() => undefined, (e: Error) => e);
        note(`up with broker ${broken.brokerId} unable to start: failed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.ok(failure, "up must fail");
        const step = KAFKA_STEPS.brokerRoll(broken.brokerId);
        assert.match(failure.message, new RegExp(`${COMPONENT}/${step} on ${broken.host}: forward action failed`), "the error names the step and the host");
        assert.match(failure.message, /service kafka is not running/, "the error says the broker did not stay up");
        const steps = await stepsInState(stack);
        assert.ok(steps.includes(`${order[0]} ${KAFKA_STEPS.brokerRoll(kafka.brokers[0].brokerId)}`), "the first broker's roll completed");
        assert.ok(!steps.includes(`${broken.host} ${step}`), "the failed roll is not in the state");
        assert.equal((await onHost(broken.host, "[ -L /etc/init.d/kafka ] && echo link || echo file")).trim(), "file", `${broken.host}: the legacy init script is back`);
        assert.match((await runningFrom(broken.host)).kafka, /^\/app\/soft\/kafka_2\.12-2\.3\.0\/libs$/, `${broken.host}: the legacy broker serves again`);
        assert.match((await runningFrom(order[0])).kafka, /\/app\/middleware\/kafka\/kafka_2\.13-3\.9\.2\/libs$/, `${order[0]}: the managed broker serves`);
    });

    it("resumes with the config fixed and finishes the migration: every acknowledged message consumed, data and committed offsets kept", async () => {
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { brokers: { listener?: string }[] };
        await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...kafka, brokers: kafka.brokers.map(({ listener: _l, ...b }) => b) }) });
        const started = Date.now();
        const r = await stack.up();
        note(`resumed up: ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(r.summary.resourceChanges)}`);
        for (const h of HOSTS) {
            const from = await runningFrom(h);
            assert.equal(from.zookeeper, `${MANAGED_ROOT}/zookeeper-3.8.6/lib`, `${h}: ZooKeeper runs the managed install`);
            assert.equal(from.kafka, `${MANAGED_ROOT}/kafka_2.13-3.9.2/libs`, `${h}: Kafka runs the managed install`);
            assert.equal((await onHost(h, "cat /app/zookeeper_data/myid")).trim(), String(inv.kafka!.hosts.find((x) => x.name === h)!.myid), `${h}: myid carried`);
            assert.match(await onHost(h, "cat /app/kafka_data/meta.properties"), new RegExp(`^broker\\.id=${inv.kafka!.hosts.find((x) => x.name === h)!.brokerId}$`, "m"), `${h}: broker.id carried`);
        }
        const t = traffic!;
        traffic = undefined;
        report("migration (with the failed and the resumed up)", await t.stop());
        assert.equal(await assertSeededData(inv, "after the migration"), inv.kafka!.seededMessages);
        assert.deepEqual(await billingOffsets(inv), offsetsBefore, "the seeded group's committed offsets are kept");
    });

    it("runs no remote command on a second `up`", async () => {
        const mark = await journalMark(HOSTS);
        const r = await stack.up();
        const changes = r.summary.resourceChanges ?? {};
        assert.deepEqual(Object.keys(changes).filter((k) => k !== "same"), [], `nothing but 'same': ${JSON.stringify(changes)}`);
        assert.deepEqual(await journalSince(mark, COMPONENT), [], "no step ran on any host");
    });

    it("rolls back with `destroy`, node by node: every acknowledged message consumed, legacy installs, configs and scripts byte for byte", async () => {
        traffic = await trafficOf("rollback");
        const started = Date.now();
        await stack.destroy();
        note(`destroy: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const t = traffic;
        traffic = undefined;
        report("rollback", await t.stop());
        assertTreesBack(legacyBefore, await legacyTrees(inv), "after destroy");
        assert.deepEqual(await dynamicMembers(`${inv.kafka!.zookeeperDir}/conf`), membersBefore, "the ensemble's members as ZooKeeper records them");
        for (const h of HOSTS) {
            const from = await runningFrom(h);
            assert.equal(from.zookeeper, `${inv.kafka!.zookeeperDir}/lib`, `${h}: ZooKeeper runs the legacy install`);
            assert.equal(from.kafka, `${inv.kafka!.kafkaDir}/libs`, `${h}: Kafka runs the legacy install`);
            assert.equal((await onHost(h, `ls -d ${MANAGED_ROOT} /app/soft/*_bak /etc/init.d/*_bak 2>/dev/null || :`)).trim(), "", `${h}: no managed root and no _bak left`);
        }
        assert.equal(await assertSeededData(inv, "after the rollback"), inv.kafka!.seededMessages);
        assert.deepEqual(await billingOffsets(inv), offsetsBefore, "the seeded group's committed offsets are kept");
    });
});
