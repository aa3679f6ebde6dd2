/**
 * The plan of the Kafka + ZooKeeper migration: pre-checks on every node, the managed install
 * staged beside the legacy one, then the ZooKeeper nodes one at a time in the declared order
 * (followers first, the leader last), then the brokers one at a time (the controller last).
 * `destroy` runs the inverses in the reverse order: the same roll, backwards.
 *
 * @module
 */
import { gate, sequence } from "../core/order";
import type { Plan, PlannedStep } from "../core/plan";
import { protocolOf, ResolvedKafkaZk } from "./args";
import { raiseProtocol, removeBackups } from "./finalize";
import { brokerPrecheck, zookeeperPrecheck } from "./prechecks";
import { rollBroker, rollZookeeper } from "./roll";
import { pinnedBrokerSettings, stageBroker, stageZookeeper } from "./stage";
import { brokerVersionRoll, zookeeperVersionRoll } from "./version";

/** Step ids, stable forever: they are part of the resource names (`<component>-<host>-<id>`). */
export const KAFKA_STEPS = {
    zookeeperPrecheck: (myid: number) => `zk-${myid}-precheck`,
    brokerPrecheck: (id: number) => `broker-${id}-precheck`,
    zookeeperStage: (myid: number) => `zk-${myid}-stage`,
    brokerStage: (id: number) => `broker-${id}-stage`,
    zookeeperRoll: (myid: number) => `zk-${myid}-roll`,
    brokerRoll: (id: number) => `broker-${id}-roll`,
    raiseProtocol: (id: number) => `broker-${id}-raise-protocol`,
    zookeeperRemoveBackups: (myid: number) => `zk-${myid}-remove-backups`,
    brokerRemoveBackups: (id: number) => `broker-${id}-remove-backups`,
    zookeeperVersion: (myid: number) => `zk-${myid}-version`,
    brokerVersion: (id: number) => `broker-${id}-version`,
} as const;

/** The plan of component `name` for the resolved arguments. */
export function planKafkaZk(name: string, r: ResolvedKafkaZk): Plan {
    const ids = KAFKA_STEPS;
    const step = (s: PlannedStep): PlannedStep => ({ ...s, protect: r.finalize });
    // What a step's outcome depends on; a change redoes it. Pre-checks describe the legacy site
    // and are never redone. The versions (and where their jars come from) are not the
    // migration's: a later version change replaces only the version steps, forward-first.
    const legacy = JSON.stringify(r.legacy);
    const zkLayout = JSON.stringify({ legacy, root: r.managedRoot, jvm: r.jvm });
    const prechecks: PlannedStep[] = [
        ...r.zookeeper.map((n) => step({ id: ids.zookeeperPrecheck(n.myid), host: n.host.name, kind: "check", summary: `ZooKeeper myid ${n.myid}: legacy layout, myid, version ${r.legacy.zookeeperVersion}, ensemble synced, room`, action: zookeeperPrecheck(r, n) })),
        ...r.brokers.map((b) => step({ id: ids.brokerPrecheck(b.brokerId), host: b.host.name, kind: "check", summary: `broker ${b.brokerId}: legacy layout, broker.id, cluster.id, version ${r.legacy.kafkaVersion}, registered, controller, no under-replicated or offline partition`, action: brokerPrecheck(r, b) })),
    ];
    const stages: PlannedStep[] = [
        ...r.zookeeper.map((n) => step({ id: ids.zookeeperStage(n.myid), host: n.host.name, summary: `stage ZooKeeper ${r.zookeeperVersion} under ${r.managedRoot}, zoo.cfg carried`, action: stageZookeeper(r), triggers: [zkLayout] })),
        ...r.brokers.map((b) => step({
            id: ids.brokerStage(b.brokerId),
            host: b.host.name,
            summary: `stage Kafka ${r.version} under ${r.managedRoot}, server.properties carried with ${Object.entries(pinnedBrokerSettings(r, b)).map(([k, v]) => `${k}=${v}`).join(", ")}`,
            action: stageBroker(r, b),
            triggers: [JSON.stringify({ legacy, root: r.managedRoot, jvm: r.jvm, settings: pinnedBrokerSettings(r, b) })],
        })),
    ];
    const stageIds = stages.map((s) => s.id);
    const zkRolls = sequence(r.zookeeper.map((n) => step({
        id: ids.zookeeperRoll(n.myid),
        host: n.host.name,
        summary: `roll ZooKeeper myid ${n.myid}: stop, ${r.legacy.zookeeperDir} and ${r.legacy.zookeeperInit} to _bak, start managed on ${r.legacy.zookeeperDataDir}, back in the quorum`,
        action: rollZookeeper(r, n),
        after: stageIds,
        triggers: [zkLayout],
        timeoutSeconds: 2 * r.waitSeconds.zookeeper + 120,
    })));
    const lastZk = zkRolls[zkRolls.length - 1].id;
    const brokerRolls = sequence(r.brokers.map((b) => step({
        id: ids.brokerRoll(b.brokerId),
        host: b.host.name,
        summary: `roll broker ${b.brokerId}: controlled shutdown, ${r.legacy.kafkaDir} and ${r.legacy.kafkaInit} to _bak, start managed on ${r.legacy.kafkaDataDir}, registered and no under-replicated partition`,
        notice: "partition leaders move off the broker: producers wait up to about 1 s, consumers rebalance and pause up to a few seconds, nothing lost (npm run bench -- kafka: produce gap 998 ms up, 1466 ms destroy; consume gap up to 5.2 s; 0 lost)",
        action: rollBroker(r, b),
        after: [...stageIds, lastZk],
        triggers: [stages.find((s) => s.id === ids.brokerStage(b.brokerId))!.triggers![0]],
        timeoutSeconds: 2 * r.waitSeconds.broker + 300,
    })));
    // Unprotected even once finalized: a version change replaces them (a finalized site's
    // `destroy` is refused by its other steps, which are protected).
    const zkVersions = sequence(r.zookeeper.map((n, i) => ({
        id: ids.zookeeperVersion(n.myid),
        host: n.host.name,
        summary: `ZooKeeper ${r.zookeeperVersion} on myid ${n.myid}: when it runs another managed version, stage this one beside it (zoo.cfg carried) and roll onto it, back in the quorum`,
        action: zookeeperVersionRoll(r, n),
        after: i === 0 ? [brokerRolls[brokerRolls.length - 1].id] : [],
        triggers: [JSON.stringify({ zookeeperVersion: r.zookeeperVersion })],
        replace: "forward-first" as const,
        timeoutSeconds: 2 * r.waitSeconds.zookeeper + 120,
    })));
    const brokerVersions = sequence(r.brokers.map((b, i) => ({
        id: ids.brokerVersion(b.brokerId),
        host: b.host.name,
        summary: `Kafka ${r.version} on broker ${b.brokerId}: when it runs another managed version, stage this one beside it (server.properties carried, protocol as it is) and roll onto it, registered and no under-replicated partition`,
        notice: "on a version change only, as the migration's broker roll: partition leaders move off the broker, producers wait up to about 1 s, nothing lost (Kafka 3.9.2 -> 3.9.1 by hand, docs/kafka.md: produce gap 471 ms, 0 lost)",
        action: brokerVersionRoll(r, b),
        after: i === 0 ? [zkVersions[zkVersions.length - 1].id] : [],
        triggers: [JSON.stringify({ version: r.version, scala: r.scala })],
        replace: "forward-first" as const,
        timeoutSeconds: 2 * r.waitSeconds.broker + 300,
    })));
    const finalize: PlannedStep[] = [];
    if (r.finalize) {
        const raises = sequence(r.brokers.map((b) => step({
            id: ids.raiseProtocol(b.brokerId),
            host: b.host.name,
            summary: `finalize: raise broker ${b.brokerId}'s inter.broker.protocol.version to ${protocolOf(r.version)} and restart it (irreversible)`,
            action: raiseProtocol(r, b),
            after: [brokerVersions[brokerVersions.length - 1].id],
            timeoutSeconds: 2 * r.waitSeconds.broker + 300,
        })));
        const raised = raises[raises.length - 1].id;
        finalize.push(
            ...raises,
            ...r.zookeeper.map((n) => step({ id: ids.zookeeperRemoveBackups(n.myid), host: n.host.name, summary: "finalize: remove the legacy ZooKeeper backups (irreversible)", action: removeBackups([r.legacy.zookeeperDir, r.legacy.zookeeperInit]), after: [raised] })),
            ...r.brokers.map((b) => step({ id: ids.brokerRemoveBackups(b.brokerId), host: b.host.name, summary: "finalize: remove the legacy Kafka backups (irreversible)", action: removeBackups([r.legacy.kafkaDir, r.legacy.kafkaInit]), after: [raised] })),
        );
    }
    return { component: name, steps: gate([...prechecks, ...stages, ...zkRolls, ...brokerRolls, ...zkVersions, ...brokerVersions, ...finalize]) };
}
