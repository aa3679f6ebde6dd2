/**
 * A later change of the managed version, as a rolling upgrade of its own, managed -> managed:
 * one step per node whose forward stages the version beside the running one (its own home
 * under the managed root, the running config carried) and rolls the node onto it behind the
 * same gates as the migration's roll; a version change replaces these steps forward-first in
 * the roll order, so every node runs the new version before the old steps' inverses remove the
 * old homes. The inverse of a step whose version still runs rolls the node back to the version
 * the migration staged (the base, recorded in the home as `.mw-base`), so `destroy` goes back
 * node by node through the base to the legacy install. The base's own home belongs to the
 * migration's stage step: the step of the base version stages and removes nothing.
 *
 * @module
 */
import { crashPoint, fail, note, Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { BrokerArgs, ResolvedKafkaZk, ZookeeperNodeArgs } from "./args";
import { kafkaInitScript, log4jProperties, managedPaths, ZOOKEEPER_JAR_CASE, zookeeperInitScript } from "./files";
import { kafkaPreamble } from "./kafka-sh";
import { brokerGates, NodeGates, zookeeperGates } from "./roll";
import { copyJars, writeFile } from "./stage";

/** In a home a version change staged: the init script of the base, the version the migration staged. */
export const BASE_FILE = ".mw-base";

/** What a version roll of one node needs. */
interface VersionParts {
    readonly gates: NodeGates;
    /** What the operator calls it, e.g. `ZooKeeper 3.9.5`. */
    readonly label: string;
    /** The init script path the migration linked to the managed init script. */
    readonly init: string;
    /** The version's home, its jars dir, config and init script. */
    readonly home: string;
    readonly lib: string;
    readonly config: string;
    /** The config's path relative to a home (`conf/zoo.cfg`). */
    readonly configInHome: string;
    readonly log4j: string;
    readonly managedInit: string;
    readonly initScript: string;
    /** `case` patterns of the jars copied from `jars`, and the jar that proves the version. */
    readonly jarPattern: string;
    readonly versionJar: string;
}

/** Fragment: the init link now points at `target` (a fresh link renamed over the old one). */
function relink(init: string, target: string): string {
    return sh`ln -sfn ${raw(target)} ${`${init}.mw-tmp`}
mv -Tf ${`${init}.mw-tmp`} ${init}
`;
}

/** Fragment: stop the daemon behind `init` (while it takes part, only once the cluster can do without it), link `target`, start, wait at the gate. */
function rollOnto(p: VersionParts, target: string): string {
    const g = p.gates;
    return sh`if ${raw(g.takesPart(p.lib))}; then
    ${raw(g.canStop(p.lib))}
fi
if service ${g.service} status >/dev/null 2>&1; then
    service ${g.service} stop
fi
${raw(crashPoint("stopped"))}${raw(relink(p.init, target))}${raw(crashPoint("linked"))}service ${g.service} start
${raw(crashPoint("started"))}${raw(g.gate(p.lib))}
`;
}

function versionRoll(r: ResolvedKafkaZk, p: VersionParts): Reversible {
    const root = r.managedRoot;
    const base = `${p.home}/${BASE_FILE}`;
    const forward = sh`${raw(kafkaPreamble(r))}
mw_cur=$(readlink ${p.init} 2>/dev/null) || mw_cur=''
case $mw_cur in
${raw(`${root}/*`)}) ;;
*) ${raw(fail(`${p.init} does not link into ${root}: the node is not migrated`))} ;;
esac
mw_cur_home=$(dirname "$(dirname "$mw_cur")")
if [ "$mw_cur" = ${p.managedInit} ]; then
    # Already on it: the migration's version, or an earlier run that got past the link (its
    # gate is passed again before the next node may roll).
    if ! service ${p.gates.service} status >/dev/null 2>&1; then
        service ${p.gates.service} start
        ${raw(p.gates.gate(p.lib))}
    elif [ -f ${base} ]; then
        ${raw(p.gates.gate(p.lib))}
    fi
    ${raw(note(`the node runs ${p.label}`))}
    exit 0
fi
${raw(crashPoint("stage"))}if [ ! -e ${p.managedInit} ]; then
${raw(copyJars(r, p.lib, p.jarPattern))}    [ -f ${`${p.lib}/${p.versionJar}`} ] || ${raw(fail(`${r.jars} holds no ${p.versionJar}`))}
    if [ -f "$mw_cur_home/${raw(BASE_FILE)}" ]; then cp -p "$mw_cur_home/${raw(BASE_FILE)}" ${`${base}.mw-tmp`}; else printf '%s\\n' "$mw_cur" >${`${base}.mw-tmp`}; fi
    mv -f ${`${base}.mw-tmp`} ${base}
${raw(writeFile(p.log4j, log4jProperties()))}${raw(writeFile(p.managedInit, p.initScript, "0755"))}fi
mkdir -p "$(dirname ${p.config})"
cp -p "$mw_cur_home/${raw(p.configInHome)}" ${`${p.config}.mw-tmp`}
mv -f ${`${p.config}.mw-tmp`} ${p.config}
echo "middleware: staged ${raw(p.label)} under ${raw(p.home)}, config carried from $mw_cur_home; rolling onto it"
${raw(rollOnto(p, sh`${p.managedInit}`))}${raw(note(`the node runs ${p.label}`))}
`;
    const inverse = sh`${raw(kafkaPreamble(r))}
if [ ! -f ${base} ]; then
    ${raw(note(`${p.label} is the version the migration staged: its roll steps take the node back`))}
    exit 0
fi
mw_base=$(cat ${base})
if [ "$(readlink ${p.init} 2>/dev/null)" = ${p.managedInit} ]; then
    [ -x "$mw_base" ] || { echo ${`middleware: cannot roll back from ${p.label}: the init script it came from is gone:`} "$mw_base" >&2; exit 1; }
    mw_base_home=$(dirname "$(dirname "$mw_base")")
    cp -p ${p.config} "$mw_base_home/${raw(p.configInHome)}.mw-tmp"
    mv -f "$mw_base_home/${raw(p.configInHome)}.mw-tmp" "$mw_base_home/${raw(p.configInHome)}"
    echo "middleware: rolling back from ${raw(p.label)} onto $mw_base_home"
${raw(rollOnto(p, '"$mw_base"'))}fi
${raw(crashPoint("remove"))}rm -rf ${p.home}
${raw(note(`removed ${p.home}`))}
`;
    return { forward, inverse };
}

/** The version roll of one ZooKeeper node onto `zookeeperVersion` (see the module doc). */
export function zookeeperVersionRoll(r: ResolvedKafkaZk, node: ZookeeperNodeArgs): Reversible {
    const m = managedPaths(r);
    return versionRoll(r, {
        gates: zookeeperGates(r, node),
        label: `ZooKeeper ${r.zookeeperVersion}`,
        init: r.legacy.zookeeperInit,
        home: m.zookeeperHome,
        lib: m.zookeeperLib,
        config: m.zooCfg,
        configInHome: "conf/zoo.cfg",
        log4j: m.zookeeperLog4j,
        managedInit: m.zookeeperInit,
        initScript: zookeeperInitScript(r),
        jarPattern: ZOOKEEPER_JAR_CASE,
        versionJar: `zookeeper-${r.zookeeperVersion}.jar`,
    });
}

/** The version roll of one broker onto `version` (see the module doc); the protocol stays as the running config has it. */
export function brokerVersionRoll(r: ResolvedKafkaZk, broker: BrokerArgs): Reversible {
    const m = managedPaths(r);
    return versionRoll(r, {
        gates: brokerGates(r, broker),
        label: `Kafka ${r.version}`,
        init: r.legacy.kafkaInit,
        home: m.kafkaHome,
        lib: m.kafkaLibs,
        config: m.serverProperties,
        configInHome: "config/server.properties",
        log4j: m.kafkaLog4j,
        managedInit: m.kafkaInit,
        initScript: kafkaInitScript(r),
        jarPattern: "*",
        versionJar: `kafka_${r.scala}-${r.version}.jar`,
    });
}
