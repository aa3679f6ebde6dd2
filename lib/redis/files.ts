/**
 * The managed layout of the Redis pair and the files it consists of. Pure: paths and file
 * contents from the resolved arguments. Nothing here holds the password: it lives in
 * `auth.conf`, written on the host from stdin and included by `redis.conf`.
 *
 * @module
 */
import { sysvInitScript } from "../core/init-script";
import { sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";

/**
 * The paths of the managed instance on one host. The binaries are reached through the
 * `current` link (`current -> versions/<version>`), so nothing but the install steps names a
 * version: an upgrade moves the link and restarts, and every script keeps working.
 */
export interface ManagedPaths {
    readonly root: string;
    /** The link to the version that runs. */
    readonly current: string;
    readonly server: string;
    readonly cli: string;
    readonly keepalived: string;
    readonly config: string;
    readonly authConfig: string;
    readonly keepalivedConfig: string;
    readonly check: string;
    readonly redisInit: string;
    readonly keepalivedInit: string;
    readonly dataDir: string;
    readonly logDir: string;
    readonly runDir: string;
}

/** The managed paths under `root`. */
export function managedPaths(root: string): ManagedPaths {
    const current = `${root}/current`;
    return {
        root,
        current,
        server: `${current}/bin/redis-server`,
        cli: `${current}/bin/redis-cli`,
        keepalived: `${root}/keepalived/sbin/keepalived`,
        config: `${root}/conf/redis.conf`,
        authConfig: `${root}/conf/auth.conf`,
        keepalivedConfig: `${root}/conf/keepalived.conf`,
        check: `${root}/conf/check_redis.sh`,
        redisInit: `${root}/init.d/redis`,
        keepalivedInit: `${root}/init.d/keepalived`,
        dataDir: `${root}/data`,
        logDir: `${root}/log`,
        runDir: `${root}/run`,
    };
}

/** Where one installed version lives. */
export interface VersionPaths {
    readonly version: string;
    readonly dir: string;
    /** What `current` points to when this version runs (relative, so the root may move). */
    readonly link: string;
    readonly server: string;
    readonly cli: string;
    /** The directives that depend on the version, included by redis.conf through `current`. */
    readonly config: string;
}

/** The paths of `version` under `root`. */
export function versionPaths(root: string, version: string): VersionPaths {
    const link = `versions/${version}`;
    const dir = `${root}/${link}`;
    return { version, dir, link, server: `${dir}/bin/redis-server`, cli: `${dir}/bin/redis-cli`, config: `${dir}/version.conf` };
}

/**
 * version.conf: directives only some versions know. `enable-debug-command` exists from 7.0 on
 * (DEBUG DIGEST proves the data equal across a switch); 6.x allows DEBUG anyway and refuses to
 * start on a directive it does not know.
 */
export function versionConf(version: string): string {
    const major = Number(/^(\d+)\./.exec(version)?.[1] ?? 0);
    const lines = [`# Managed by pulumi-middleware: directives of Redis ${version}`];
    if (major >= 7) lines.push("enable-debug-command local");
    return lines.join("\n") + "\n";
}

/** Which side of the pair a host is. */
export type Role = "master" | "slave";

/** redis.conf of the managed instance. */
export function redisConf(r: ResolvedRedisHa, role: Role, m: ManagedPaths): string {
    const lines = [
        `# Managed by pulumi-middleware: Redis ${role}`,
        "bind 0.0.0.0",
        "protected-mode yes",
        `port ${r.port}`,
        "daemonize yes",
        `pidfile ${m.runDir}/redis.pid`,
        `logfile ${m.logDir}/redis.log`,
        `dir ${m.dataDir}`,
        "dbfilename dump.rdb",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
        "appendonly no",
        "replica-read-only yes",
        `include ${m.current}/version.conf`,
        `include ${m.authConfig}`,
    ];
    if (role === "slave") lines.push(`replicaof ${r.master.address} ${r.port}`);
    return lines.join("\n") + "\n";
}

/** The line of keepalived.conf that the stage step fills in with the VRRP password from stdin. */
export const VRRP_AUTH_PASS_PLACEHOLDER = "@VRRP_AUTH_PASS@";

/**
 * keepalived.conf of the managed instance: the same VIP and router id as before. Adverts go
 * unicast to the other host of the pair, and only adverts from it that carry the pair's VRRP
 * password are heard: a keepalived elsewhere on the segment with the same router id cannot take
 * the VIP. The password is a placeholder here ({@link VRRP_AUTH_PASS_PLACEHOLDER}); the stage
 * step writes it from stdin, and the file is mode 0600.
 */
export function keepalivedConf(r: ResolvedRedisHa, role: Role, host: string, m: ManagedPaths): string {
    const v = r.vip;
    const [self, peer] = role === "master" ? [r.master, r.slave] : [r.slave, r.master];
    return `! Managed by pulumi-middleware: the VIP of the Redis pair (${role})
global_defs {
    router_id redis_${host}
    script_user root
    enable_script_security
    vrrp_check_unicast_src
}

vrrp_script chk_redis {
    script "${m.check}"
    interval 1
    timeout 2
    fall 2
    rise 1
}

! The master runs at priority 255 (address owner): it takes the VIP the moment it starts,
! instead of listening for three advert intervals first. The switch window is that much shorter.
! The slave runs at 254: when the master hands over (priority-0 advert) it takes the VIP after
! a skew time of (256 - 254) / 256 s instead of 0.6 s at priority 100.
! lower_prio_no_advert: without it a master restarts its advert timer on every packet it
! receives, even one refused for its authentication, so a foreign keepalived advertising at the
! same interval silences it and the slave claims the VIP every three seconds.
vrrp_instance VI_REDIS {
    state ${role === "master" ? "MASTER" : "BACKUP"}
    interface ${v.interface}
    virtual_router_id ${v.virtualRouterId}
    priority ${role === "master" ? 255 : 254}
    advert_int 1
    lower_prio_no_advert
    unicast_src_ip ${self.address}
    unicast_peer {
        ${peer.address}
    }
    authentication {
        auth_type PASS
        auth_pass ${VRRP_AUTH_PASS_PLACEHOLDER}
    }
    virtual_ipaddress {
        ${v.address}/${v.prefix} dev ${v.interface}
    }
    track_script {
        chk_redis
    }
}
`;
}

/**
 * Shell that writes keepalived.conf with the VRRP password in `$MW_VRRP_PASSWORD` in place of
 * the placeholder, mode 0600, through shell built-ins only (the password is in no argv).
 */
export function writeKeepalivedConf(path: string, content: string): string {
    const [head, tail] = content.split(VRRP_AUTH_PASS_PLACEHOLDER);
    return sh`(umask 077 && printf '%s%s%s' ${head} "$MW_VRRP_PASSWORD" ${tail} >${`${path}.mw-tmp`}) && mv -f ${`${path}.mw-tmp`} ${path}`;
}

/** The vrrp_script: the local Redis answers PING, with the password read from auth.conf. */
export function checkScript(r: ResolvedRedisHa, m: ManagedPaths): string {
    return sh`#!/bin/sh
# keepalived health check, generated by pulumi-middleware.
pw=$(sed -n 's/^requirepass "\\(.*\\)"$/\\1/p' ${m.authConfig})
printf 'AUTH "%s"\\nPING\\n' "$pw" | ${m.cli} -h 127.0.0.1 -p ${r.port} 2>/dev/null | grep -q PONG
`;
}

/** /etc/init.d/redis of the managed instance. */
export function redisInit(r: ResolvedRedisHa, m: ManagedPaths): string {
    return sysvInitScript({
        service: r.legacy.redisService,
        description: "Redis (managed by pulumi-middleware)",
        start: sh`        ${m.server} ${m.config} || exit 1`,
        pidFile: `${m.runDir}/redis.pid`,
        processName: "redis-server",
    });
}

/** /etc/init.d/keepalived of the managed instance. */
export function keepalivedInit(r: ResolvedRedisHa, m: ManagedPaths): string {
    const run = m.runDir;
    return sysvInitScript({
        service: r.legacy.keepalivedService,
        description: "keepalived for the Redis VIP (managed by pulumi-middleware)",
        // keepalived refuses to start while its child pid files name live processes; after a
        // crash they name whatever got those pids at boot.
        start: sh`        rm -f ${`${run}/keepalived_vrrp.pid`} ${`${run}/keepalived_checkers.pid`}
        setsid ${m.keepalived} --dont-fork --log-console --log-detail -f ${m.keepalivedConfig} \\
            -p ${`${run}/keepalived.pid`} -r ${`${run}/keepalived_vrrp.pid`} -c ${`${run}/keepalived_checkers.pid`} \\
            >>${`${m.logDir}/keepalived.log`} 2>&1 </dev/null &`,
        pidFile: `${run}/keepalived.pid`,
        processName: "keepalived",
    });
}

/** Fragment: writes `content` to `path` with `mode`; the content is quoted, so it is inert. */
export function writeFile(path: string, content: string, mode: string): string {
    return sh`printf '%s' ${content} >${`${path}.mw-tmp`} && chmod ${mode} ${`${path}.mw-tmp`} && mv -f ${`${path}.mw-tmp`} ${path}`;
}
