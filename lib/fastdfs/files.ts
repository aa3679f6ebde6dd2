/**
 * The files of a FastDFS site: tracker.conf, storage.conf, client.conf, storage_ids.conf,
 * mod_fastdfs.conf and nginx.conf, and the SysV scripts of the three daemons. Pure renderers:
 * the sandbox lays out its legacy site with them, the component its managed layout.
 *
 * FastDFS reads every path as given and chdirs after daemonizing, so every path is absolute;
 * storage.conf's `tracker_server` lines come before its `[error-log]` section (the parser ends
 * the global section there).
 *
 * @module
 */
import { sysvInitScript } from "../core/init-script";
import { raw, sh } from "../core/shell";

/** One storage server as storage_ids.conf lists it. */
export interface StorageIdentity {
    readonly id: string;
    readonly group: string;
    readonly address: string;
}

/** tracker.conf: `basePath` holds `data/` (the tracker's state, pid file) and `logs/`. */
export function renderTrackerConf(o: { basePath: string; port: number; storageIdsFile: string }): string {
    return `# FastDFS tracker
disabled = false
bind_addr =
port = ${o.port}
connect_timeout = 5
network_timeout = 60
base_path = ${o.basePath}
max_connections = 1024
accept_threads = 1
work_threads = 4
store_lookup = 0
store_server = 0
store_path = 0
download_server = 0
reserved_storage_space = 256MB
log_level = info
allow_hosts = *
check_active_interval = 30
storage_ip_changed_auto_adjust = false
storage_sync_file_max_delay = 86400
storage_sync_file_max_time = 300
use_trunk_file = false
use_storage_id = true
storage_ids_filename = ${o.storageIdsFile}
id_type_in_filename = id
trust_storage_server_id = true
use_connection_pool = false
log_file_rotate_everyday = false
`;
}

/** storage.conf of one storage server. */
export function renderStorageConf(o: { group: string; port: number; basePath: string; storePath: string; trackers: readonly string[] }): string {
    return `# FastDFS storage
disabled = false
group_name = ${o.group}
bind_addr =
client_bind = true
port = ${o.port}
connect_timeout = 5
network_timeout = 60
heart_beat_interval = 2
stat_report_interval = 5
base_path = ${o.basePath}
max_connections = 1024
buff_size = 256KB
thread_stack_size = 512KB
accept_threads = 1
work_threads = 4
disk_rw_separated = true
disk_reader_threads = 1
disk_writer_threads = 1
sync_wait_msec = 10
sync_interval = 0
sync_start_time = 00:00
sync_end_time = 23:59
write_mark_file_freq = 100
store_path_count = 1
store_path0 = ${o.storePath}
subdir_count_per_path = 32
${o.trackers.map((t) => `tracker_server = ${t}`).join("\n")}
log_level = info
allow_hosts = *
file_distribute_path_mode = 0
file_distribute_rotate_count = 100
fsync_after_written_bytes = 0
sync_binlog_buff_interval = 1
sync_stat_file_interval = 5
upload_priority = 10
check_file_duplicate = 0
use_connection_pool = false
compress_binlog = false
check_store_path_mark = true
log_file_rotate_everyday = false
[error-log]
[access-log]
enabled = false
`;
}

/** client.conf for the FastDFS command-line clients. */
export function renderClientConf(o: { basePath: string; trackers: readonly string[]; storageIdsFile: string }): string {
    return `# FastDFS client
connect_timeout = 3
network_timeout = 30
base_path = ${o.basePath}
${o.trackers.map((t) => `tracker_server = ${t}`).join("\n")}
log_level = warn
use_connection_pool = false
load_fdfs_parameters_from_tracker = false
use_storage_id = true
storage_ids_filename = ${o.storageIdsFile}
`;
}

/** storage_ids.conf: `<id> <group> <address>` per storage server. */
export function renderStorageIds(storages: readonly StorageIdentity[]): string {
    return `# FastDFS storage ids\n${storages.map((s) => `${s.id} ${s.group} ${s.address}`).join("\n")}\n`;
}

/** The config of nginx's FastDFS module: serves the files of `storePath` under `/<group>/M00/`. */
export function renderModFastdfsConf(o: {
    group: string; storagePort: number; storePath: string; trackers: readonly string[]; storageIdsFile: string; logFile: string;
    /** FastDFS's own (Apache-format) mime.types, e.g. `<home>/conf/mime.types`. */
    mimeTypesFile: string;
}): string {
    return `# FastDFS nginx module
connect_timeout = 2
network_timeout = 30
base_path = /tmp
load_fdfs_parameters_from_tracker = false
storage_sync_file_max_delay = 86400
use_storage_id = true
storage_ids_filename = ${o.storageIdsFile}
${o.trackers.map((t) => `tracker_server = ${t}`).join("\n")}
storage_server_port = ${o.storagePort}
group_name = ${o.group}
url_have_group_name = true
store_path_count = 1
store_path0 = ${o.storePath}
log_level = warn
log_filename = ${o.logFile}
response_mode = proxy
if_alias_prefix =
flv_support = false
group_count = 0
http.need_find_content_type = false
http.default_content_type = application/octet-stream
http.mime_types_filename = ${o.mimeTypesFile}
http.anti_steal.check_token = false
`;
}

/** nginx.conf: the FastDFS module answers `/<group>/M00/...` on `httpPort`. */
export function renderNginxConf(o: { httpPort: number; group: string }): string {
    return `# nginx with the FastDFS module
user root;
worker_processes 1;
error_log logs/error.log warn;
pid logs/nginx.pid;
events {
    worker_connections 512;
}
http {
    include mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 30;
    server {
        listen ${o.httpPort};
        location /${o.group}/M00/ {
            ngx_fastdfs_module;
        }
    }
}
`;
}

/** The environment prefix that finds FastDFS's libraries: the binaries have no rpath. */
export function withLibraries(home: string): string {
    return sh`LD_LIBRARY_PATH=${`${home}/lib`}`;
}

/** How long the managed storage's `service ... start` waits for its pid file. */
export const STORAGE_START_SECONDS = 120;

/** /etc/init.d script of a tracker or storage daemon (`fdfs_trackerd` or `fdfs_storaged`). */
export function renderDaemonInit(o: { service: string; daemon: "fdfs_trackerd" | "fdfs_storaged"; home: string; config: string; basePath: string }): string {
    return sysvInitScript({
        service: o.service,
        description: `FastDFS ${o.daemon === "fdfs_trackerd" ? "tracker" : "storage"} (${o.config})`,
        start: sh`        ${raw(withLibraries(o.home))} ${`${o.home}/bin/${o.daemon}`} ${o.config} start >/dev/null 2>&1 </dev/null || :`,
        pidFile: `${o.basePath}/data/${o.daemon}.pid`,
        processName: o.daemon,
        // A storage talks to every tracker before it writes its pid file, three tries 5 s apart
        // on one that does not answer (a cut link, a host down): 46 s measured with one tracker
        // cut. CI saw such a start fail the 10 s default. One that dies (its port taken) fails at once.
        ...(o.daemon === "fdfs_storaged" ? { startTimeoutSeconds: STORAGE_START_SECONDS, startFailsWithoutProcess: true } : {}),
    });
}

/** /etc/init.d/nginx for nginx installed at `prefix`, its libraries from `home`. */
export function renderNginxInit(o: { service: string; prefix: string; home: string }): string {
    return sysvInitScript({
        service: o.service,
        description: `nginx with the FastDFS module (${o.prefix})`,
        start: sh`        ${raw(withLibraries(o.home))} ${`${o.prefix}/sbin/nginx`} -p ${o.prefix} -c ${`${o.prefix}/conf/nginx.conf`} </dev/null >/dev/null 2>&1 || :`,
        pidFile: `${o.prefix}/logs/nginx.pid`,
        processName: "nginx",
    });
}
