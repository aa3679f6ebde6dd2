import { sysvInitScript } from "../../lib/core/init-script";

/*
 * The files of the legacy Redis pair exactly as the runbook found them: hand-installed under
 * /app/soft, SysV scripts in /etc/init.d, one redis.conf and one keepalived.conf per host.
 * The version in the directory name is the runbook's label; the binaries are Debian's 7.0.15
 * or, on request, one of the sandbox's 6.2 builds (see redis-versions.ts). The init scripts
 * are plain SysV scripts of the same shape the library writes for managed daemons.
 */

/** Where the legacy layout puts things (the runbook's paths). */
export const LEGACY_REDIS = {
    installDir: "/app/soft/redis-5.0.5",
    serverBin: "/app/soft/redis-5.0.5/bin/redis-server",
    cliBin: "/app/soft/redis-5.0.5/bin/redis-cli",
    config: "/etc/redis/redis.conf",
    dataDir: "/app/redis_data",
    logDir: "/var/log/redis",
    initScript: "/etc/init.d/redis",
    pidFile: "/var/run/redis_6379.pid",
    port: 6379,
    keepalivedInstallDir: "/app/soft/keepalived",
    keepalivedBin: "/app/soft/keepalived/sbin/keepalived",
    keepalivedConfig: "/etc/keepalived/keepalived.conf",
    keepalivedCheck: "/etc/keepalived/check_redis.sh",
    keepalivedInit: "/etc/init.d/keepalived",
    keepalivedPidFile: "/var/run/keepalived.pid",
    virtualRouterId: 51,
    masterPriority: 150,
    slavePriority: 100,
} as const;

/** Inputs of one host's Redis and keepalived configuration. */
export interface RedisHostConfig {
    readonly host: string;
    readonly role: "master" | "slave";
    /** The master's address, for the slave's `replicaof`. */
    readonly masterAddress: string;
    /** Hex only, so it needs no quoting in redis.conf. */
    readonly password: string;
    readonly vip: string;
    readonly interface: string;
    /** The version the binaries report (`x.y.z`); redis.conf holds only directives it knows. */
    readonly redisVersion: string;
}

/**
 * Whether Redis `version` knows the `enable-debug-command` directive (7.0 on). Earlier versions
 * refuse to start on it, and allow DEBUG to every client anyway.
 */
export function knowsEnableDebugCommand(version: string): boolean {
    const m = /^(\d+)\.\d+\.\d+$/.exec(version);
    if (!m) throw new Error(`Redis version ${JSON.stringify(version)}: expected x.y.z`);
    return Number(m[1]) >= 7;
}

/** /etc/redis/redis.conf for one side of the pair. */
export function renderRedisConf(c: RedisHostConfig): string {
    const L = LEGACY_REDIS;
    const lines = [
        `# Redis 5.0.5, installed by hand on ${c.host} (${c.role})`,
        `# (sandbox: the binaries are Redis ${c.redisVersion})`,
        "bind 0.0.0.0",
        "protected-mode yes",
        `port ${L.port}`,
        "tcp-backlog 511",
        "timeout 0",
        "tcp-keepalive 300",
        "daemonize yes",
        "supervised no",
        `pidfile ${L.pidFile}`,
        "loglevel notice",
        `logfile ${L.logDir}/redis_${L.port}.log`,
        "databases 16",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
        "stop-writes-on-bgsave-error yes",
        "rdbcompression yes",
        "rdbchecksum yes",
        "dbfilename dump.rdb",
        `dir ${L.dataDir}`,
        `masterauth ${c.password}`,
        `requirepass ${c.password}`,
        "replica-serve-stale-data yes",
        "replica-read-only yes",
        "repl-diskless-sync no",
        "appendonly no",
    ];
    // Redis 5.0.5 accepts DEBUG from anyone, as 6.2 does; 7.x binaries standing in for it need
    // this to behave the same for local connections.
    if (knowsEnableDebugCommand(c.redisVersion)) lines.push("enable-debug-command local");
    if (c.role === "slave") lines.push(`replicaof ${c.masterAddress} ${L.port}`);
    return lines.join("\n") + "\n";
}

/** /etc/init.d/redis: start/stop/status/restart around the pid file. */
export function renderRedisInit(): string {
    const L = LEGACY_REDIS;
    return sysvInitScript({
        service: "redis",
        description: "Redis 5.0.5 (installed by hand)",
        start: `        ${L.serverBin} ${L.config} || exit 1`,
        pidFile: L.pidFile,
    });
}

/** /etc/keepalived/keepalived.conf: one VRRP instance carrying the VIP, tracking Redis. */
export function renderKeepalivedConf(c: RedisHostConfig): string {
    const L = LEGACY_REDIS;
    const master = c.role === "master";
    return `! keepalived for the Redis pair, installed by hand on ${c.host}
global_defs {
    router_id redis_${c.host}
    script_user root
    enable_script_security
}

vrrp_script chk_redis {
    script "${L.keepalivedCheck}"
    interval 2
    timeout 2
    fall 2
    rise 1
}

vrrp_instance VI_REDIS {
    state ${master ? "MASTER" : "BACKUP"}
    interface ${c.interface}
    virtual_router_id ${L.virtualRouterId}
    priority ${master ? L.masterPriority : L.slavePriority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass redis${L.virtualRouterId}
    }
    virtual_ipaddress {
        ${c.vip}/24 dev ${c.interface}
    }
    track_script {
        chk_redis
    }
}
`;
}

/** The vrrp_script: Redis on this host answers PING with the password from redis.conf. */
export function renderKeepalivedCheck(): string {
    const L = LEGACY_REDIS;
    return `#!/bin/sh
# keepalived health check: the local Redis answers PING.
REDISCLI_AUTH=$(awk '$1 == "requirepass" { print $2 }' ${L.config})
export REDISCLI_AUTH
${L.cliBin} -h 127.0.0.1 -p ${L.port} ping 2>/dev/null | grep -q PONG
`;
}

/** /etc/init.d/keepalived: runs keepalived in the foreground mode, detached, logging to /var/log. */
export function renderKeepalivedInit(): string {
    const L = LEGACY_REDIS;
    // No syslog on this host: keepalived stays in the foreground, logging to a file.
    return sysvInitScript({
        service: "keepalived",
        description: "keepalived (installed by hand)",
        start: `        setsid ${L.keepalivedBin} --dont-fork --log-console --log-detail -f ${L.keepalivedConfig} -p ${L.keepalivedPidFile} \\
            -r /var/run/keepalived_vrrp.pid -c /var/run/keepalived_checkers.pid >>/var/log/keepalived.log 2>&1 </dev/null &`,
        pidFile: L.keepalivedPidFile,
        stopTimeoutSeconds: 30,
    });
}
