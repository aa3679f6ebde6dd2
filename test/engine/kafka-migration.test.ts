import * as assert from "node:assert/strict";
import type { Stack } from "@pulumi/pulumi/automation";
import { crashDuring, CrashTarget, exec, fault, Inventory, setQuiet } from "../../sandbox";
import { sleep, waitFor } from "../../sandbox/run";
import { kafkaClient } from "../../sandbox/sites/kafka-dataset";
import { startTraffic, Traffic, TrafficReport } from "../../bench/kafka-traffic";
import { KAFKA_STEPS } from "../../lib/kafka/plan";
import { freshLegacyKafka, kafkaSiteStack, zookeeperModes } from "../../tools/kafka-site";
import { middlewareJars, UPGRADE_KAFKA_JARS, ZOOKEEPER_VERSION } from "../../sandbox/sites/kafka-jars";
import { journalMark, journalSince } from "../support/journal";
import { TreeSnapshot } from "../support/tree";
import { libraryLines, said } from "../support/engine-error";
import {
    assertSeededData, assertTreesBack, dynamicMembers, billingOffsets, COMPONENT, dropStack, HOSTS, legacyTrees, MANAGED_ROOT, onHost, runningFrom, stepsInState,
} from "../support/kafka-scenario";

/*
 * The Kafka + ZooKeeper migration through the real engine, on one legacy site and one stack,
 * with an idempotent producer (acks=all) and a consumer group running throughout:
 * a host killed inside its ZooKeeper roll (after the renames, before the link: it boots with no
 * ZooKeeper init script); a broker that cannot start in the managed layout fails `up` (naming
 * the step and host) while the cluster keeps serving; the fixed config resumes, a broker host's
 * disk filled inside its roll fails `up` (naming the step and host) while the other two serve;
 * after free-disk a host killed inside its broker roll (after the start, before the health
 * gate), and the next `up` finishes
 * the migration; a second `up` runs nothing; a ZooKeeper version change rolls node by node
 * managed -> managed (a host's link cut inside a roll's health gate fails it, naming step and
 * host; healed, the next `up` finishes), and set back it rolls back the same way; a `destroy` killed inside a broker's inverse (the
 * legacy init script back, the install still `_bak`), and the next `destroy` rolls back node by
 * node and leaves the legacy files byte for byte.
 */

const STACK = `test-kafka-${process.pid}`;
/** A produce gap a host crash may cause: the dead broker's ZooKeeper session expiring (18 s) before its partitions get leaders again. */
const CRASH_PRODUCE_GAP_MS = 60_000;
/** How long a crashed host stays down: longer than the brokers' ZooKeeper session timeout (18 s on the site), as any real reboot. */
const REBOOT_MS = 25_000;
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
    const report = (label: string, r: TrafficReport, maxGapMs = 10_000) => {
        note(`${label}: ${r.acknowledged}/${r.sent} acknowledged, ${r.lost} lost, ${r.duplicates} duplicates, ${r.foreign} foreign, produce gap ${r.produceGapMs} ms, ` +
            `consume gap ${r.consumeGapMs} ms${Object.keys(r.failures).length ? `, failures ${JSON.stringify(r.failures)}` : ""}`);
        if (r.clientSkips.length) note(`${label}: offsets kafkajs passed over, read again by seeking back: ${r.clientSkips.join(", ")}`);
        assert.equal(r.lost, 0, `${label}: acknowledged messages never consumed by the group: ${r.lostIds.map((n) => `${n} (${r.lostWhere[n]})`).join(", ")}`);
        assert.equal(r.foreign, 0, `${label}: consumed ids the producer never sent`);
        assert.deepEqual(r.sameOffsetAcks, [], `${label}: ids the broker acknowledged at an earlier id's offset`);
        assert.ok(r.acknowledged > 100, `${label}: the producer kept producing (${r.acknowledged} acknowledged)`);
        // The bench's goal is 2 s; a loaded 2-core machine gets more room, an outage would not fit.
        assert.ok(r.produceGapMs < maxGapMs, `${label}: the producer waited ${r.produceGapMs} ms for an acknowledgement`);
    };
    const at = (host: string, step: string, direction: "forward" | "inverse", point: string): CrashTarget => ({ host, component: COMPONENT, step, direction, point });
    /** Runs `op` with `target` armed: asserts it failed with the host killed there, then boots the host. */
    const crashed = async (what: string, target: CrashTarget, op: () => Promise<unknown>) => {
        const started = Date.now();
        const { crashed: hosts, error } = await crashDuring([target], op);
        const where = `${target.host} ${target.step} ${target.direction} at "${target.point}"`;
        assert.deepEqual(hosts, [target.host], `${what}: crashed ${where}? ${error ? String(error).slice(0, 2000) : "it succeeded"}`);
        assert.match(String(error), /remote command exited without exit status or exit signal|ECONNRESET|connection lost/i, `${what}: the crash is reported`);
        // As long as a real reboot takes at least: ZooKeeper expires the dead broker's session first.
        // (A broker 2.3 that starts while its old registration is still there exits at once.)
        await sleep(REBOOT_MS);
        await fault(target.host, "up");
        note(`${what}: ${where} killed the host after ${((Date.now() - started) / 1000).toFixed(1)} s; booted`);
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
    });

    it("an `up` whose host is killed inside its ZooKeeper roll, after the renames and before the link, fails; the host boots without ZooKeeper", async () => {
        stack = await kafkaSiteStack(STACK);
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { zookeeper: { host: string; myid: number }[]; brokers: { host: string; brokerId: number; listener?: string }[] };
        order = kafka.brokers.map((b) => b.host);
        // The broker the next test cannot start: its listener is wrong from the start.
        const broken = kafka.brokers[1];
        await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...kafka, brokers: kafka.brokers.map((b) => (b === broken ? { ...b, listener: UNREACHABLE_LISTENER(inv) } : b)) }) });
        traffic = await trafficOf("migration");
        const node = kafka.zookeeper[1];
        await crashed("up #1", at(node.host, KAFKA_STEPS.zookeeperRoll(node.myid), "forward", "link /etc/init.d/zookeeper"), () => stack.up());
        assert.equal((await onHost(node.host, "ls /etc/init.d/zookeeper /etc/init.d/zookeeper_bak 2>/dev/null || :")).trim(), "/etc/init.d/zookeeper_bak", `${node.host}: no ZooKeeper init script, its backup there`);
        assert.equal((await runningFrom(node.host)).zookeeper, "not running", `${node.host}: no ZooKeeper after the boot`);
        assert.ok(!(await stepsInState(stack)).includes(`${node.host} ${KAFKA_STEPS.zookeeperRoll(node.myid)}`), "the crashed roll is not in the state");
    });

    it("fails `up` on a broker that cannot start in the managed layout, naming step and host; the cluster keeps serving and the broker is legacy again", async () => {
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { zookeeper: { host: string; myid: number }[]; brokers: { host: string; brokerId: number; listener?: string }[] };
        const broken = kafka.brokers[1];
        const started = Date.now();
        const failure = await stack.up().then(() => undefined, (e: Error) => e);
        note(`up with broker ${broken.brokerId} unable to start: failed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        assert.ok(failure, "up must fail");
        const step = KAFKA_STEPS.brokerRoll(broken.brokerId);
        assert.match(failure.message, new RegExp(`${COMPONENT}/${step} on ${broken.host}: forward action failed`), "the error names the step and the host");
        assert.match(failure.message, /service kafka is not running/, "the error says the broker did not stay up");
        const steps = await stepsInState(stack);
        for (const n of kafka.zookeeper) assert.ok(steps.includes(`${n.host} ${KAFKA_STEPS.zookeeperRoll(n.myid)}`), `ZooKeeper myid ${n.myid}'s roll completed (the crashed one resumed)`);
        assert.ok(steps.includes(`${order[0]} ${KAFKA_STEPS.brokerRoll(kafka.brokers[0].brokerId)}`), "the first broker's roll completed");
        assert.ok(!steps.includes(`${broken.host} ${step}`), "the failed roll is not in the state");
        assert.equal((await onHost(broken.host, "[ -L /etc/init.d/kafka ] && echo link || echo file")).trim(), "file", `${broken.host}: the legacy init script is back`);
        assert.match((await runningFrom(broken.host)).kafka, /^\/app\/soft\/kafka_2\.12-2\.3\.0\/libs$/, `${broken.host}: the legacy broker serves again`);
        assert.match((await runningFrom(order[0])).kafka, /\/app\/middleware\/kafka\/kafka_2\.13-3\.9\.2\/libs$/, `${order[0]}: the managed broker serves`);
    });

    it("resumes with the config fixed; an `up` whose broker host's disk fills inside its roll fails naming step and host while the others serve; after free-disk an `up` whose host is killed inside the last broker's roll, after the start, and the next `up` finish the migration: every acknowledged message consumed, data and committed offsets kept", async () => {
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { brokers: { host: string; brokerId: number; listener?: string }[] };
        await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...kafka, brokers: kafka.brokers.map(({ listener: _l, ...b }) => b) }) });
        const last = kafka.brokers[kafka.brokers.length - 1];
        const full = kafka.brokers[1];
        // The disk of the broker's host fills while its managed broker catches up (inside the roll's health gate).
        const upFull = stack.up().then(() => undefined, (e: Error) => e);
        const managedKafka = `${MANAGED_ROOT}/kafka_2.13-3.9.2/libs`;
        assert.ok(await waitFor(async () => (await runningFrom(full.host)).kafka === managedKafka, 900_000, 500), `${full.host}: the managed broker started`);
        await fault(full.host, "fill-disk");
        let failure: Error | undefined;
        try {
            failure = await upFull;
            note(`up #3 with ${full.host}'s disk filled inside its broker roll: ${failure ? "failed" : "succeeded"}`);
            assert.ok(failure, "up must fail");
            assert.match(failure.message, new RegExp(`${COMPONENT}/${KAFKA_STEPS.brokerRoll(full.brokerId)} on ${full.host}: forward action failed`), "the error names the step and the host");
            assert.match(failure.message, /service kafka is not running/, "the error says the broker died");
            note(`the engine reported:\n${libraryLines(failure).map((l) => `          | ${l}`).join("\n")}`);
            // The others keep serving: a write acknowledged by all in-sync replicas goes through.
            const producer = kafkaClient(inv.kafka!.bootstrap, "engine-full-disk").producer({ retry: { retries: 15, initialRetryTime: 500, maxRetryTime: 5000 } });
            await producer.connect();
            try {
                await producer.send({ topic: inv.kafka!.trafficTopic, acks: -1, messages: [{ value: "full-disk-probe" }] });
            } finally {
                await producer.disconnect();
            }
        } finally {
            await fault(full.host, "free-disk");
        }
        // What the full disk stopped beside the broker comes back by hand, as after any full disk.
        const zk = await exec(full.host, "service zookeeper status >/dev/null || { service zookeeper start >/dev/null && echo restarted; }");
        note(`${full.host}: ZooKeeper ${zk.stdout.includes("restarted") ? "had died on the full disk and was started again" : "kept running on the full disk"}`);
        assert.ok(!(await stepsInState(stack)).includes(`${full.host} ${KAFKA_STEPS.brokerRoll(full.brokerId)}`), "the failed roll is not in the state");
        await crashed("up #4", at(last.host, KAFKA_STEPS.brokerRoll(last.brokerId), "forward", "started"), () => stack.up());
        const steps = await stepsInState(stack);
        assert.ok(steps.includes(`${kafka.brokers[1].host} ${KAFKA_STEPS.brokerRoll(kafka.brokers[1].brokerId)}`), "the broker that failed before rolled");
        assert.ok(!steps.includes(`${last.host} ${KAFKA_STEPS.brokerRoll(last.brokerId)}`), "the crashed roll is not in the state");
        const mark = await journalMark(HOSTS);
        const started = Date.now();
        const r = await stack.up();
        note(`up #5, resuming: ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(r.summary.resourceChanges)}`);
        const config = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { zookeeper: { host: string; myid: number }[] };
        // Then the version steps, which find every node on the version the migration staged and change nothing.
        const versionSteps = [
            ...config.zookeeper.map((n) => `${n.host} ${KAFKA_STEPS.zookeeperVersion(n.myid)} forward ok`),
            ...kafka.brokers.map((b) => `${b.host} ${KAFKA_STEPS.brokerVersion(b.brokerId)} forward ok`),
        ];
        assert.deepEqual((await journalSince(mark, COMPONENT)).map((l) => `${l.host} ${l.step} ${l.direction} ${l.outcome}`), [`${last.host} ${KAFKA_STEPS.brokerRoll(last.brokerId)} forward ok`, ...versionSteps],
            "the last up ran only the crashed roll, then the version steps");
        for (const h of HOSTS) {
            const from = await runningFrom(h);
            assert.equal(from.zookeeper, `${MANAGED_ROOT}/zookeeper-3.8.6/lib`, `${h}: ZooKeeper runs the managed install`);
            assert.equal(from.kafka, `${MANAGED_ROOT}/kafka_2.13-3.9.2/libs`, `${h}: Kafka runs the managed install`);
            assert.equal((await onHost(h, "cat /app/zookeeper_data/myid")).trim(), String(inv.kafka!.hosts.find((x) => x.name === h)!.myid), `${h}: myid carried`);
            assert.match(await onHost(h, "cat /app/kafka_data/meta.properties"), new RegExp(`^broker\\.id=${inv.kafka!.hosts.find((x) => x.name === h)!.brokerId}$`, "m"), `${h}: broker.id carried`);
        }
        const t = traffic!;
        traffic = undefined;
        report("migration (5 ups: a crash in a ZooKeeper roll, a broker unable to start, a full disk in a broker roll, a crash in a broker roll, the last)", await t.stop(), CRASH_PRODUCE_GAP_MS);
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

    it("upgrades ZooKeeper as a rolling upgrade of its own, managed -> managed (a link cut inside a roll's health gate fails `up` naming step and host; healed, the next `up` finishes), and rolls back the same way when the version is set back: brokers untouched, every acknowledged message consumed", async () => {
        const base = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { zookeeper: { host: string; myid: number }[]; zookeeperVersion: string; jars: string; waitSeconds?: number };
        const upgrade = middlewareJars(UPGRADE_KAFKA_JARS);
        const zkLib = (v: string) => `${MANAGED_ROOT}/zookeeper-${v}/lib`;
        const brokerPids = async () => Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, (await onHost(h, "cat /var/run/middleware-kafka.pid")).trim()] as const)));
        const pidsBefore = await brokerPids();
        /** The config for `version`, the live ZooKeeper leader last (as an operator lists it); returns the roll order. */
        const configure = async (version: string, jars: string, from: string) => {
            const modes = await zookeeperModes(inv, zkLib(from));
            const leader = HOSTS.find((h) => modes[h] === "leader");
            assert.ok(leader, `a ZooKeeper leader: ${JSON.stringify(modes)}`);
            const zookeeper = [...base.zookeeper.filter((n) => n.host !== leader), base.zookeeper.find((n) => n.host === leader)!];
            // Short gates, so that the cut link fails the roll in bounded time.
            await stack.setConfig("middleware:kafka", { value: JSON.stringify({ ...base, zookeeper, zookeeperVersion: version, jars, waitSeconds: 30 }) });
            return zookeeper;
        };
        /**
         * The new version steps ran forward in `order` (from `from` on: an earlier, failed `up`
         * may have done the first), then the old ones' inverses (removing the old homes) in the
         * reverse of the order they were created in.
         */
        const assertRolled = async (what: string, mark: Awaited<ReturnType<typeof journalMark>>, order: { host: string; myid: number }[], previous: { host: string; myid: number }[], from = 0) => {
            const ran = (await journalSince(mark, COMPONENT)).map((l) => `${l.host} ${l.step} ${l.direction} ${l.outcome}`);
            const forward = order.slice(from).map((n) => `${n.host} ${KAFKA_STEPS.zookeeperVersion(n.myid)} forward ok`);
            const inverse = [...previous].reverse().map((n) => `${n.host} ${KAFKA_STEPS.zookeeperVersion(n.myid)} inverse ok`);
            assert.deepEqual(ran, [...forward, ...inverse], `${what}: only the ZooKeeper version steps, the new ones in the roll order, then the old ones' inverses`);
        };

        traffic = await trafficOf("zk-upgrade");
        let order = await configure(UPGRADE_KAFKA_JARS.zookeeper, upgrade.dir, ZOOKEEPER_VERSION);
        const [first, second, last] = order;
        // The first node's roll: once it runs the new version (inside its health gate), the link
        // of the leader's host (the last to roll) is cut. The step that fails runs on another
        // host: the first node's (its gate), or the second's if the first passed its gate before
        // the cut (its stop gate, or its gate when it stopped just before).
        const upCut = stack.up().then(() => undefined, (e: Error) => e);
        assert.ok(await waitFor(async () => (await runningFrom(first.host)).zookeeper === zkLib(UPGRADE_KAFKA_JARS.zookeeper), 600_000, 300), `${first.host}: ZooKeeper ${UPGRADE_KAFKA_JARS.zookeeper} started`);
        await fault(last.host, "cut");
        const cutAt = Date.now();
        let failure: Error | undefined;
        let cutMs = 0;
        try {
            failure = await upCut;
        } finally {
            await fault(last.host, "heal");
            cutMs = Date.now() - cutAt;
        }
        note(`up with ${last.host}'s link cut inside ${first.host}'s ZooKeeper version roll: ${failure ? "failed" : "succeeded"} ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut`);
        assert.ok(failure, "up must fail");
        assert.ok(Date.now() - cutAt < 300_000, "it fails within the gates' bounds, no hang");
        const failed = [first, second].find((n) => new RegExp(`${COMPONENT}/${KAFKA_STEPS.zookeeperVersion(n.myid)} on ${n.host}: forward action failed`).test(failure!.message));
        assert.ok(failed, `the error names the step and the host (${first.host}'s or ${second.host}'s roll): ${said(failure)}`);
        note(`the failed step: ${KAFKA_STEPS.zookeeperVersion(failed.myid)} on ${failed.host}`);
        assert.match(failure.message, /not so after 30 s \(modes:/, "the error says what the gate saw");
        note(`the engine reported:\n${libraryLines(failure).map((l) => `          | ${l}`).join("\n")}`);
        // As an operator would, the next `up` waits for the ensemble to be whole again: the healed
        // host's ZooKeeper rejoins only when its election connections get through, after the
        // kernel's retransmission backoff (CI: still down 30 s after a 62 s cut's heal, which failed
        // the next `up`'s 30 s gate; whole about 50 s after the heal).
        const healed = Date.now();
        const whole = async () => {
            const modes = Object.values(await zookeeperModes(inv, zkLib(ZOOKEEPER_VERSION)));
            return modes.filter((m) => m === "leader").length === 1 && modes.filter((m) => m === "follower").length === HOSTS.length - 1;
        };
        assert.ok(await waitFor(whole, 300_000, 1000), "the ensemble is whole again within 5 min of the heal");
        note(`the ensemble whole again ${((Date.now() - healed) / 1000).toFixed(1)} s after the heal`);
        let mark = await journalMark(HOSTS);
        let started = Date.now();
        await stack.up();
        note(`up after heal, finishing the ZooKeeper ${UPGRADE_KAFKA_JARS.zookeeper} upgrade: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        await assertRolled("upgrade", mark, order, base.zookeeper, order.indexOf(failed));
        for (const h of HOSTS) {
            assert.equal((await runningFrom(h)).zookeeper, zkLib(UPGRADE_KAFKA_JARS.zookeeper), `${h}: ZooKeeper runs ${UPGRADE_KAFKA_JARS.zookeeper}`);
            assert.equal((await onHost(h, `cat /app/zookeeper_data/myid`)).trim(), String(inv.kafka!.hosts.find((x) => x.name === h)!.myid), `${h}: myid carried`);
        }
        assert.deepEqual(await brokerPids(), pidsBefore, "the brokers kept running: only ZooKeeper rolled");
        let t = traffic!;
        traffic = undefined;
        // The producer sends one message at a time: a send to the cut broker stalls it for the whole cut, and
        // after the heal until the kernel's TCP retransmission backoff retries that socket (up to about a minute
        // after a minute's cut; CI measured a 109 s gap for a 61 s cut): kafkajs's request timeout rejects the
        // request but keeps the connection, so its retries queue on the same stalled socket.
        report(`ZooKeeper upgrade to ${UPGRADE_KAFKA_JARS.zookeeper} (2 ups: a link cut for ${(cutMs / 1000).toFixed(1)} s inside a roll's gate, the last)`, await t.stop(), cutMs + CRASH_PRODUCE_GAP_MS);

        traffic = await trafficOf("zk-back");
        const upgraded = order;
        order = await configure(base.zookeeperVersion, base.jars, UPGRADE_KAFKA_JARS.zookeeper);
        mark = await journalMark(HOSTS);
        started = Date.now();
        await stack.up();
        note(`up setting ZooKeeper back to ${base.zookeeperVersion}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        await assertRolled("back", mark, order, upgraded);
        for (const h of HOSTS) {
            assert.equal((await runningFrom(h)).zookeeper, zkLib(base.zookeeperVersion), `${h}: ZooKeeper runs ${base.zookeeperVersion} again`);
            assert.equal((await onHost(h, `ls -d ${MANAGED_ROOT}/zookeeper-${UPGRADE_KAFKA_JARS.zookeeper} 2>/dev/null || :`)).trim(), "", `${h}: the ${UPGRADE_KAFKA_JARS.zookeeper} home removed`);
        }
        assert.deepEqual(await brokerPids(), pidsBefore, "the brokers kept running");
        t = traffic;
        traffic = undefined;
        report(`ZooKeeper back to ${base.zookeeperVersion}`, await t.stop());
        assert.deepEqual(await billingOffsets(inv), offsetsBefore, "the seeded group's committed offsets are kept");
    });

    it("rolls back with `destroy`, node by node: every acknowledged message consumed, legacy installs, configs and scripts byte for byte", async () => {
        traffic = await trafficOf("rollback");
        const kafka = JSON.parse((await stack.getConfig("middleware:kafka")).value) as { brokers: { host: string; brokerId: number }[] };
        // The first inverse of the rollback: the controller's broker, the last to roll.
        const first = kafka.brokers[kafka.brokers.length - 1];
        await crashed("destroy #1", at(first.host, KAFKA_STEPS.brokerRoll(first.brokerId), "inverse", `restore ${inv.kafka!.kafkaDir}`), () => stack.destroy());
        assert.equal((await onHost(first.host, `ls -d ${inv.kafka!.kafkaDir} ${inv.kafka!.kafkaDir}_bak 2>/dev/null; [ -L /etc/init.d/kafka ] && echo link || echo file`)).trim(), `${inv.kafka!.kafkaDir}_bak\nfile`,
            `${first.host}: the legacy init script back, the install still _bak`);
        const started = Date.now();
        await stack.destroy();
        note(`destroy #2, resuming: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const t = traffic;
        traffic = undefined;
        report("rollback (2 destroys: a crash in a broker's inverse, the last)", await t.stop(), CRASH_PRODUCE_GAP_MS);
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
