/**
 * The storages: first each legacy storage learns all three trackers (its storage.conf gets their
 * `tracker_server` lines, it restarts); then, one at a time, each is migrated: storaged and
 * nginx stopped, renamed to `_bak`, the managed storage with the same group and id (base dir's
 * data and logs copied, the stored files moved by rename when on one file system), started,
 * ACTIVE and in sync, and nginx serving from the managed path.
 *
 * @module
 */
import { crashPoint, Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { FastDfsStorageArgs, ResolvedFastDfs } from "./args";
import { backUp, fastdfsPreamble, MANAGED_MARK, restore, storageIds, trackerEndpoints } from "./fdfs-sh";
import { renderClientConf, renderDaemonInit, renderModFastdfsConf, renderNginxConf, renderNginxInit, renderStorageConf } from "./files";
import { moveFiles, roomForMove, settleMove } from "./move-files";
import { FREE_SPACE_HEADROOM_KB } from "./prechecks";

/** Marks a managed nginx dir (the legacy one has none). */
export const NGINX_MARK_FILE = ".managed-by-pulumi-middleware";

/** Fragment: wait until this storage is ACTIVE and in sync on every tracker (see SYNC_LAG_SECONDS). */
function waitInSync(r: ResolvedFastDfs, s: FastDfsStorageArgs): string {
    return sh`mw_wait ${r.waitSeconds} ${`storage ${s.host.name} to be ACTIVE on every tracker`} mw_active_everywhere ${s.host.address}
mw_wait ${r.waitSeconds} ${`storage ${s.host.name} to be in sync on every tracker`} mw_synced_everywhere ${s.host.address}
mw_mark 'the storage is ACTIVE and in sync'
`;
}

/** Fragment: wait until nginx on this host serves a stored file of `storePath` (when there is one). */
function waitServing(r: ResolvedFastDfs, s: FastDfsStorageArgs, storePath: string): string {
    return sh`mw_file=$(cd ${`${storePath}/data`} && find . -path './[0-9A-F][0-9A-F]/[0-9A-F][0-9A-F]/*' -type f | head -n 1)
if [ -n "$mw_file" ]; then
    mw_url="http://127.0.0.1:${raw(String(r.ports.http))}/${raw(s.group)}/M00/\${mw_file#./}"
    mw_wait ${r.waitSeconds} "nginx to serve $mw_url" mw_serves "$mw_url"
    mw_mark "nginx serves $mw_url from ${raw(storePath)}"
fi
`;
}

/** On a storage host: storage.conf lists every tracker; storaged restarted. Inverse: the site's file back, restarted. */
export function learnTrackers(r: ResolvedFastDfs, s: FastDfsStorageArgs): Reversible {
    const conf = `${r.legacy.storageDir}/conf/storage.conf`;
    const saved = '"$MW_STEP_DIR/storage.conf.orig"';
    // Set before the config changes, cleared once the storage runs with it: a run that crashed in
    // between finds the new config in place and must still restart.
    const pending = '"$MW_STEP_DIR/restart-pending"';
    const lines = trackerEndpoints(r).map((t) => `tracker_server = ${t}`).join("\n");
    const restart = sh`mw_svc ${r.legacy.storageService} stop >/dev/null || mw_die 'the legacy storage did not stop'
mw_svc ${r.legacy.storageService} start >/dev/null || mw_die 'the legacy storage did not start'
`;
    const forward = sh`${raw(fastdfsPreamble(r))}
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
if [ ! -e ${raw(saved)} ]; then
    cp -p ${conf} ${raw(`"$MW_STEP_DIR/storage.conf.orig.mw"`)}
    mv ${raw(`"$MW_STEP_DIR/storage.conf.orig.mw"`)} ${raw(saved)}
fi
# Every tracker_server line replaced by the three, where the first one was (before [error-log]).
awk -v t=${lines} '/^tracker_server *=/ { if (!done) print t; done = 1; next } { print }' ${raw(saved)} >${`${conf}.mw`}
chmod --reference=${raw(saved)} ${`${conf}.mw`}
if ! cmp -s ${`${conf}.mw`} ${conf}; then
    : >${raw(pending)}
    mv -f ${`${conf}.mw`} ${conf}
    mw_mark 'storage.conf lists every tracker'
else
    rm -f ${`${conf}.mw`}
fi
${raw(crashPoint("config written"))}if [ -e ${raw(pending)} ]; then
    ${raw(restart)}${raw(crashPoint("restarted"))}    rm -f ${raw(pending)}
    mw_mark 'the legacy storage restarted with every tracker'
fi
${raw(waitInSync(r, s))}mw_wait ${r.waitSeconds} ${`all ${r.trackers.length} trackers to know each other with one leader`} mw_one_leader
mw_mark 'the legacy storage knows every tracker; the trackers have one leader'
`;
    const inverse = sh`${raw(fastdfsPreamble(r))}
if [ -e ${raw(saved)} ]; then
    if ! cmp -s ${raw(saved)} ${conf}; then
        : >${raw(pending)}
        cp -p ${raw(saved)} ${`${conf}.mw`}
        mv -f ${`${conf}.mw`} ${conf}
    fi
${raw(crashPoint("config restored"))}    if [ -e ${raw(pending)} ]; then
        ${raw(restart)}${raw(crashPoint("restarted"))}        rm -f ${raw(pending)}
    fi
    rm -f ${raw(saved)}
fi
# A rollback ends with the site serving: the storage ACTIVE again on the trackers it knows now.
mw_active_on_site_trackers() {
    for mw_t in ${trackerEndpoints(r, "legacy")}; do [ "$(mw_state "$mw_t" "$1")" = ACTIVE ] || return 1; done
}
mw_wait ${r.waitSeconds} ${`storage ${s.host.name} to be ACTIVE on the site's trackers`} mw_active_on_site_trackers ${s.host.address}
mw_mark "the legacy storage's config is the site's again; it is ACTIVE on the site's trackers"
`;
    return { forward, inverse };
}

/** The managed storage's and nginx's files on one host. */
export function managedStorage(r: ResolvedFastDfs, s: FastDfsStorageArgs) {
    const c = r.managed.confDir;
    const ids = `${c}/storage_ids.conf`;
    const trackers = trackerEndpoints(r);
    const nginx = r.legacy.nginxDir;
    return {
        conf: `${c}/storage.conf`,
        client: `${c}/client.conf`,
        ids,
        confText: `${MANAGED_MARK}\n${renderStorageConf({ group: s.group, port: r.ports.storage, basePath: r.managed.storageBase, storePath: r.managed.storePath, trackers })}`,
        clientText: `${MANAGED_MARK}\n${renderClientConf({ basePath: r.managed.storageBase, trackers, storageIdsFile: ids })}`,
        storageInit: renderDaemonInit({ service: r.legacy.storageService, daemon: "fdfs_storaged", home: r.home, config: `${c}/storage.conf`, basePath: r.managed.storageBase })
            .replace("# Generated by pulumi-middleware.", MANAGED_MARK),
        nginxInit: renderNginxInit({ service: r.legacy.nginxService, prefix: nginx, home: r.home }).replace("# Generated by pulumi-middleware.", MANAGED_MARK),
        nginxConf: `${MANAGED_MARK}\n${renderNginxConf({ httpPort: r.ports.http, group: s.group })}`,
        modConf: `${MANAGED_MARK}\n${renderModFastdfsConf({
            group: s.group, storagePort: r.ports.storage, storePath: r.managed.storePath, trackers,
            storageIdsFile: ids, logFile: `${nginx}/logs/mod_fastdfs.log`, mimeTypesFile: `${r.home}/conf/mime.types`,
        })}`,
    };
}

/** On a storage host: the legacy storage and nginx replaced by the managed ones, files carried. */
export function migrateStorage(r: ResolvedFastDfs, s: FastDfsStorageArgs): Reversible {
    const l = r.legacy;
    const m = r.managed;
    const f = managedStorage(r, s);
    const initS = `/etc/init.d/${l.storageService}`;
    const initN = `/etc/init.d/${l.nginxService}`;
    const legacyData = `${l.storePath}/data`;
    const managedData = `${m.storePath}/data`;
    const nginxMark = `${l.nginxDir}/${NGINX_MARK_FILE}`;
    // Set just before the managed storage first starts (a crash may come right after the start):
    // only then does its binlog go back with the files.
    const ran = '"$MW_STEP_DIR/managed-storage-ran"';
    const managedInit = (init: string) => sh`grep -qsF ${MANAGED_MARK} ${init}`;
    const forward = sh`${raw(fastdfsPreamble(r))}
${raw(settleMove(managedData, legacyData))}${raw(settleMove(legacyData, managedData))}${raw(roomForMove(legacyData, managedData, FREE_SPACE_HEADROOM_KB))}mw_record_made
if ! mw_exists ${`${l.storageDir}_bak`}; then
    mw_svc ${l.nginxService} stop >/dev/null || mw_die 'the legacy nginx did not stop'
    mw_svc ${l.storageService} stop >/dev/null || mw_die 'the legacy storage did not stop'
    mw_mark 'legacy nginx and storage stopped'
fi
${raw(crashPoint("legacy stopped"))}${raw(backUp(l.storageDir))}if [ ! -e ${nginxMark} ]; then
${raw(backUp(l.nginxDir))}fi
if ! ${raw(managedInit(initS))}; then
${raw(backUp(initS))}fi
if ! ${raw(managedInit(initN))}; then
${raw(backUp(initN))}fi
if [ ! -d ${m.storageBase} ]; then
    # The runbook's "copy the two folders of /app/storage": data (binlog, sync marks, state) and logs.
    rm -rf ${`${m.storageBase}.mw`}
    mkdir -p ${`${m.storageBase}.mw`}
    cp -a ${`${l.storageDir}_bak/data`} ${`${l.storageDir}_bak/logs`} ${`${m.storageBase}.mw/`}
    rm -f ${`${m.storageBase}.mw/data/fdfs_storaged.pid`}
    mv ${`${m.storageBase}.mw`} ${m.storageBase}
    mw_mark ${`the legacy storage's data and logs carried to ${m.storageBase}`}
fi
${raw(crashPoint("base carried"))}mkdir -p ${m.storePath}
${raw(moveFiles(legacyData, managedData, "files"))}[ -d ${managedData} ] || mw_die ${`neither ${legacyData} nor ${managedData} holds the stored files`}
${raw(crashPoint("files moved"))}mw_put ${f.conf} 0644 ${f.confText}
mw_put ${f.client} 0644 ${f.clientText}
mw_put ${f.ids} 0644 ${`${MANAGED_MARK}\n${storageIds(r)}`}
mw_put ${initS} 0755 ${f.storageInit}
if [ ! -e ${nginxMark} ]; then
    rm -rf ${`${l.nginxDir}.mw`}
    cp -a ${`${r.home}/nginx`} ${`${l.nginxDir}.mw`}
    echo ${MANAGED_MARK} >${`${l.nginxDir}.mw/${NGINX_MARK_FILE}`}
    mv ${`${l.nginxDir}.mw`} ${l.nginxDir}
fi
mw_put ${`${l.nginxDir}/conf/mod_fastdfs.conf`} 0644 ${f.modConf}
mw_put ${`${l.nginxDir}/conf/nginx.conf`} 0644 ${f.nginxConf}
mw_put ${initN} 0755 ${f.nginxInit}
${raw(crashPoint("managed configured"))}mkdir -p "$MW_STEP_DIR" && : >${raw(ran)}
mw_svc ${l.storageService} start >/dev/null || mw_die ${`the managed storage did not start; see ${m.storageBase}/logs/storaged.log`}
mw_mark 'the managed storage started'
${raw(crashPoint("managed started"))}${raw(waitInSync(r, s))}${raw(crashPoint("in sync"))}mw_svc ${l.nginxService} start >/dev/null || mw_die ${`nginx did not start; see ${l.nginxDir}/logs/error.log`}
${raw(waitServing(r, s, m.storePath))}`;
    const inverse = sh`${raw(fastdfsPreamble(r))}
if ${raw(managedInit(initN))}; then
    mw_svc ${l.nginxService} stop >/dev/null || mw_die 'the managed nginx did not stop'
    rm -f ${initN}
fi
if ${raw(managedInit(initS))}; then
    mw_svc ${l.storageService} stop >/dev/null || mw_die 'the managed storage did not stop'
    rm -f ${initS}
fi
mw_mark 'managed nginx and storage stopped'
${raw(crashPoint("managed stopped"))}if [ -e ${nginxMark} ]; then rm -rf ${l.nginxDir}; fi
rm -rf ${`${l.nginxDir}.mw`}
${raw(settleMove(legacyData, managedData))}${raw(moveFiles(managedData, legacyData, "files back"))}[ -d ${legacyData} ] || mw_die ${`neither ${managedData} nor ${legacyData} holds the stored files`}
${raw(crashPoint("files back"))}rm -f ${f.conf} ${f.client}
[ -e ${`${m.confDir}/tracker.conf`} ] || rm -f ${f.ids}
${raw(restore(initS))}${raw(restore(initN))}${raw(restore(l.nginxDir))}${raw(restore(l.storageDir))}if [ -e ${raw(ran)} ] && [ -d ${`${m.storageBase}/data`} ]; then
    # The binlog and sync marks of the managed period go back with the files they describe.
    rm -rf ${`${l.storageDir}/data.mw`}
    cp -a ${`${m.storageBase}/data`} ${`${l.storageDir}/data.mw`}
    rm -f ${`${l.storageDir}/data.mw/fdfs_storaged.pid`}
    rm -rf ${`${l.storageDir}/data`}
    mv ${`${l.storageDir}/data.mw`} ${`${l.storageDir}/data`}
fi
${raw(crashPoint("binlog back"))}rm -rf ${m.storageBase} ${`${m.storageBase}.mw`}
rm -f ${raw(ran)}
rmdir ${m.storePath} ${m.confDir} 2>/dev/null || :
mw_remove_made
mw_svc ${l.storageService} start >/dev/null || mw_die 'the legacy storage did not start'
${raw(crashPoint("legacy started"))}${raw(waitInSync(r, s))}mw_svc ${l.nginxService} start >/dev/null || mw_die 'the legacy nginx did not start'
${raw(waitServing(r, s, l.storePath))}`;
    return { forward, inverse };
}
