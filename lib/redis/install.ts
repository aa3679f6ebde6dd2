/**
 * The install step: one Redis version's binaries under `versions/<version>`, and `current`
 * pointing at them. On a pair that does not serve yet (the migration) that is all. On a
 * serving pair (a version change) the step also restarts its host onto the new version: the
 * slave's step simply, the master's through a switchover to the slave (see ./rolling).
 *
 * A version change replaces the two install steps forward-first, slave before master: the new
 * version is installed and running before the old step's inverse removes the old version.
 * Setting the version back goes the same way; so does a new install source of the same version
 * (a rebuilt binary), which restarts the pair onto it. Before anything restarts, a version that cannot read
 * the RDB format the running one writes (a downgrade across formats) is refused while
 * everything still runs as it was, and the new binary loads the RDB on disk in a private
 * instance.
 *
 * @module
 */
import { serviceCommands } from "../core/actions/service-state";
import { crashPoint, Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { managedPaths, Role, versionConf, versionPaths, writeFile } from "./files";
import { redisPreamble } from "./redis-sh";
import { masterOnto, slaveOnto, switchCurrent } from "./rolling";
import { MANAGED_MARKER } from "./stage";
import { refuseUnlessReads } from "./rdb-format";

/** Forward: installs `r.version` and makes it current. Inverse: removes it (see the module doc). */
export function install(r: ResolvedRedisHa, role: Role): Reversible {
    const m = managedPaths(r.managedRoot);
    const v = versionPaths(r.managedRoot, r.version);
    const redis = serviceCommands(r.legacy.redisService, r.serviceManager);
    // Written while this host restarts onto the version, holding the version it left.
    const rollingFrom = raw(`"$MW_STEP_DIR/rolling-from-${r.version}"`);
    const onto = role === "slave" ? slaveOnto : masterOnto;
    const serving = sh`{ [ "$(readlink ${r.legacy.redisInit} 2>/dev/null)" = ${m.redisInit} ] && ${raw(redis.status)} >/dev/null 2>&1; }`;
    const legacyRdb = `${r.legacy.dataDir}/${r.legacy.rdbFile}`;
    const legacyServer = `${r.legacy.installDir}/bin/redis-server`;

    const forward = sh`${raw(redisPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
${raw(crashPoint("start"))}
[ -e ${`${m.root}/${MANAGED_MARKER}`} ] || { echo ${`middleware: ${m.root} is not staged`} >&2; exit 1; }
mkdir -p ${`${v.dir}/bin`}
cp -f ${r.source.redisServer} ${`${v.server}.mw-tmp`} && mv -f ${`${v.server}.mw-tmp`} ${v.server}
cp -f ${r.source.redisCli} ${`${v.cli}.mw-tmp`} && mv -f ${`${v.cli}.mw-tmp`} ${v.cli}
${v.server} --version | grep -q -F ${`v=${r.version} `} ||
    { printf 'middleware: install source %s is not Redis %s: %s\\n' ${r.source.redisServer} ${r.version} "$(${v.server} --version)" >&2; exit 1; }
${raw(writeFile(v.config, versionConf(r.version), "0644"))}
${raw(crashPoint("binaries copied"))}
mw_prev=$(readlink ${m.current} 2>/dev/null) || mw_prev=''
if ${raw(serving)}; then
    mw_running=${m.server}; mw_rdb=${`${m.dataDir}/dump.rdb`}
else
    # Before the switch: the legacy redis (renamed to _bak on a host the migration got past).
    mw_running=${legacyServer}; mw_rdb=${legacyRdb}
    [ -x "$mw_running" ] || { mw_running=${`${r.legacy.installDir}_bak/bin/redis-server`}; mw_rdb=${`${r.legacy.dataDir}_bak/${r.legacy.rdbFile}`}; }
fi
if [ "$mw_prev" != ${v.link} ]; then
${raw(refuseUnlessReads(v.server, raw('"$mw_running"'), `Redis ${r.version} cannot read the data this pair holds: refused before anything changed`))}
    # And it loads the data on disk, in a private instance.
    if [ -e "$mw_rdb" ]; then
        mw_loaded=$(mw_offline_digest ${v.server} "$mw_rdb")
        mw_mark ${`Redis ${r.version} loads`}" $mw_rdb: $mw_loaded"
    fi
fi
if ${raw(serving)}; then
    printf '%s\\n' "$mw_prev" >${rollingFrom}
${raw(onto(r, raw(sh`${v.link}`)))}
    rm -f ${rollingFrom}
    echo ${`middleware: the ${role} runs Redis ${r.version}`}
else
${raw(crashPoint("before current"))}
${raw(switchCurrent(r, raw(sh`${v.link}`)))}
${raw(crashPoint("end"))}
    echo ${`middleware: installed Redis ${r.version} (${role})`}
fi
`;

    const inverse = sh`${raw(redisPreamble(r))}
${raw(crashPoint("start"))}
mw_cur=$(readlink ${m.current} 2>/dev/null) || mw_cur=''
if [ -s ${rollingFrom} ]; then
    mw_prev=$(cat ${rollingFrom})
    echo ${`middleware: the ${role} did not finish its switch to Redis ${r.version}: back to`} "$mw_prev"
${raw(onto(r, raw('"$mw_prev"')))}
    rm -f ${rollingFrom}
    # The same version with other binaries (a new source): it serves again, keep it.
    [ "$mw_prev" != ${v.link} ] || exit 0
elif [ "$mw_cur" = ${v.link} ] && ${raw(serving)}; then
    # Replaced by a step of the same version (the install source changed): it still serves.
    echo ${`middleware: Redis ${r.version} still serves on this host: kept`}
    exit 0
elif [ "$mw_cur" = ${v.link} ]; then
    rm -f ${m.current}
fi
${raw(crashPoint("before removing"))}
rm -rf ${v.dir}
${raw(crashPoint("end"))}
echo ${`middleware: removed Redis ${r.version} (${role})`}
`;
    return { forward, inverse };
}
