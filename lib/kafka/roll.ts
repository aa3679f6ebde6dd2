/**
 * Rolling one node from the legacy install onto the managed one, and back: stop, rename the
 * legacy install and init script to `_bak`, link the managed init script in their place, start,
 * and wait until the node serves again (the health gate that releases the next node). The data
 * dirs stay where they are: the managed configs point at them, nothing is copied.
 *
 * @module
 */
import { backupPath, DEFAULT_BACKUP_SUFFIX } from "../core/actions/backup-path";
import { linkPath } from "../core/actions/link-path";
import { crashPoint, exists, Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { BrokerArgs, ResolvedKafkaZk, ZookeeperNodeArgs } from "./args";
import { managedPaths } from "./files";
import { kafkaPreamble } from "./kafka-sh";

/** The parts of one node's roll. */
interface RollParts extends NodeGates {
    readonly installDir: string;
    readonly init: string;
    readonly managedInit: string;
    readonly managedLib: string;
}

function roll(r: ResolvedKafkaZk, p: RollParts): Reversible {
    const install = backupPath({ path: p.installDir });
    const init = backupPath({ path: p.init, replacedBy: p.managedInit });
    const link = linkPath({ path: p.init, target: p.managedInit });
    const isManaged = sh`{ [ -L ${p.init} ] && [ "$(readlink ${p.init})" = ${p.managedInit} ]; }`;
    // Everything that checks health runs the managed tools: the stage steps put them there
    // before any roll and take them away only after every roll was undone.
    // A node a crashed earlier run already stopped cannot pass the stop gate (the cluster is one
    // short); only a node still taking part is checked, as in the inverse.
    const forward = sh`${raw(kafkaPreamble(r))}
if ${raw(p.takesPart(p.managedLib))}; then
    ${raw(p.canStop(p.managedLib))}
fi
if ! ${raw(isManaged)} && [ -e ${p.init} ]; then
    service ${p.service} stop
fi
${raw(crashPoint("stopped"))}${raw(install.forward)}${raw(init.forward)}${raw(link.forward)}${raw(crashPoint("linked"))}service ${p.service} start
${raw(crashPoint("started"))}${raw(p.gate(p.managedLib))}
`;
    // With the init script's backup gone and something at its path, an earlier run crashed
    // after restoring it: the legacy script is back and there is no link to remove.
    const initBackup = `${p.init}${DEFAULT_BACKUP_SUFFIX}`;
    const inverse = sh`${raw(kafkaPreamble(r))}
if ${raw(isManaged)}; then
    if ${raw(p.takesPart(p.managedLib))}; then
        ${raw(p.canStop(p.managedLib))}
    fi
    service ${p.service} stop
fi
${raw(crashPoint("stopped"))}if ${raw(isManaged)} || ${raw(exists(initBackup))}; then
${raw(link.inverse)}fi
${raw(init.inverse)}${raw(install.inverse)}${raw(crashPoint("restored"))}service ${p.service} start
${raw(crashPoint("started"))}${raw(p.gate(p.managedLib))}
`;
    return { forward, inverse };
}

/** What a roll of one node waits for: the same gates for the migration's roll and a version change's. */
export interface NodeGates {
    readonly service: string;
    /** Waits until the node serves; `lib` is the jars directory whose tools it runs. */
    readonly gate: (lib: string) => string;
    /** What must hold before the node may stop (Strimzi's "can roll"). */
    readonly canStop: (lib: string) => string;
    /** Whether the node takes part in the cluster now (else nothing depends on it and it may stop at once). */
    readonly takesPart: (lib: string) => string;
}

/**
 * The gates of one ZooKeeper node: it stops only while the ensemble is whole and synced; it is
 * back when it is a follower or the leader again and the leader counts every follower as synced.
 */
export function zookeeperGates(r: ResolvedKafkaZk, node: ZookeeperNodeArgs): NodeGates {
    const whole = (lib: string) =>
        sh`mw_wait_until ${r.waitSeconds.zookeeper} ${`the ZooKeeper ensemble with myid ${node.myid} in it has one leader and every follower synced`} mw_zk_ensemble_synced ${lib}
mw_note "ensemble: $mw_last_state"`;
    return {
        service: r.legacy.zookeeperService,
        gate: (lib) => sh`mw_wait_until ${r.waitSeconds.zookeeper} ${`the ZooKeeper ensemble with myid ${node.myid} in it has one leader and every follower synced`} mw_alive_and ${r.legacy.zookeeperService} mw_zk_ensemble_synced ${lib}
mw_note "ensemble: $mw_last_state"`,
        canStop: whole,
        takesPart: (lib) => sh`{ case $(mw_field "$(mw_zk_srvr ${lib} ${node.host.address})" Mode) in leader|follower) true ;; *) false ;; esac; }`,
    };
}

/**
 * The gates of one broker: it stops only while no partition is under-replicated (stopping it
 * then leaves every partition at least `min.insync.replicas` in sync); the init script's stop is
 * a controlled shutdown; it is back when it is registered and no partition is under-replicated
 * or offline.
 */
export function brokerGates(r: ResolvedKafkaZk, broker: BrokerArgs): NodeGates {
    const id = String(broker.brokerId);
    return {
        service: r.legacy.kafkaService,
        gate: (lib) => sh`mw_wait_until ${r.waitSeconds.broker} ${`broker ${id} registered and no partition under-replicated or offline`} mw_alive_and ${r.legacy.kafkaService} mw_broker_serving ${lib} ${id}
mw_note "broker ${raw(id)} serves: $mw_last_state"`,
        canStop: (lib) => sh`mw_wait_until ${r.waitSeconds.broker} ${`no partition under-replicated or offline before broker ${id} stops`} mw_partitions_healthy ${lib}`,
        // Registered alone is not enough: a broker that died keeps its registration until its
        // ZooKeeper session expires, and the stop gate would wait for the partitions it left.
        takesPart: (lib) => sh`{ service ${r.legacy.kafkaService} status >/dev/null 2>&1 && case ",$(mw_broker_ids ${lib})," in *,${raw(id)},*) true ;; *) false ;; esac; }`,
    };
}

/** Roll one ZooKeeper node from the legacy install onto the managed one (see {@link zookeeperGates}). */
export function rollZookeeper(r: ResolvedKafkaZk, node: ZookeeperNodeArgs): Reversible {
    const m = managedPaths(r);
    return roll(r, {
        ...zookeeperGates(r, node),
        installDir: r.legacy.zookeeperDir,
        init: r.legacy.zookeeperInit,
        managedInit: m.zookeeperInit,
        managedLib: m.zookeeperLib,
    });
}

/** Roll one broker from the legacy install onto the managed one (see {@link brokerGates}). */
export function rollBroker(r: ResolvedKafkaZk, broker: BrokerArgs): Reversible {
    const m = managedPaths(r);
    return roll(r, {
        ...brokerGates(r, broker),
        installDir: r.legacy.kafkaDir,
        init: r.legacy.kafkaInit,
        managedInit: m.kafkaInit,
        managedLib: m.kafkaLibs,
    });
}
