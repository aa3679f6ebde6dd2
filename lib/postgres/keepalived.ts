/**
 * keepalived for the pair: the VIP goes to whichever host runs the primary. Each host runs a
 * check every second that passes only where PostgreSQL answers and is not in recovery; a
 * passing check adds 100 to the host's priority, so the new primary preempts the VIP as soon as
 * its check passes (after three VRRPv3 advert intervals of 0.2 s), and the old one has lost its
 * bonus as soon as its server stopped.
 *
 * On the master the site's keepalived is adopted with a reload (SIGHUP): the VRRP instance keeps
 * its name and state, so the VIP does not move; destroy puts the site's file back byte for byte.
 *
 * @module
 */
import { raw, sh } from "../core/shell";
import { serviceCommands } from "../core/actions/service-state";
import type { ResolvedPostgresHa } from "./args";

/** Seconds keepalived has to put the VIP on (or take it off) a host. */
export const VIP_TIMEOUT_SECONDS = 30;

/**
 * VRRPv3 advertisement interval. A backup whose priority rose above the master's does not
 * preempt on the master's adverts: it waits for three missed intervals, so this bounds how long
 * the VIP lags behind a promotion (with the one-second check).
 */
export const ADVERT_INTERVAL_SECONDS = 0.2;

/** The check keepalived runs: the local cluster answers and is a primary. */
export function renderPrimaryCheck(r: ResolvedPostgresHa): string {
    return sh`#!/bin/sh
# Written by pulumi-middleware: passes only where PostgreSQL runs as a primary.
[ "$(runuser -u ${r.osUser} -- ${`${r.clientBinDir}/psql`} -h ${r.socketDir} -p ${r.port} -d postgres -X -At -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]
`;
}

/** keepalived.conf of one host; `INSTANCE` is replaced on the host by the site's instance name. */
export function renderKeepalivedConf(r: ResolvedPostgresHa, component: string, host: string, checkPath: string): string {
    return `! keepalived for PostgreSQL, written by pulumi-middleware (${component}) on ${host}
global_defs {
    router_id pg_${host}
    script_user root
    enable_script_security
}

vrrp_script mw_pg_primary {
    script "${checkPath}"
    interval 1
    timeout 1
    fall 1
    rise 1
    weight 100
}

vrrp_instance INSTANCE {
    state BACKUP
    version 3
    interface ${r.vip.interface}
    virtual_router_id ${r.vip.virtualRouterId}
    priority 100
    advert_int ${ADVERT_INTERVAL_SECONDS}
    virtual_ipaddress {
        ${r.vip.address}/${r.vip.prefix} dev ${r.vip.interface}
    }
    track_script {
        mw_pg_primary
    }
}
`;
}

/**
 * Forward and inverse fragments that put the library's keepalived config on a host (backing up
 * the one there, if any) and bring keepalived to it: a reload when it runs (the VIP stays), a
 * start when it does not. The inverse puts the old file back and reloads, or stops keepalived
 * when there was none.
 */
export function keepalivedTakeover(r: ResolvedPostgresHa, component: string, host: string): { forward: string; inverse: string } {
    const conf = r.keepalived.config;
    const ka = serviceCommands(r.keepalived.service, r.keepalived.serviceManager);
    const check = '"$mw_pgdir/is-primary"';
    const saved = '"$MW_STEP_DIR/keepalived.conf.orig"';
    const absent = '"$MW_STEP_DIR/keepalived.conf.absent"';
    const reload = sh`mw_ka_pid=$(cat ${r.keepalived.pidFile} 2>/dev/null || :)
if [ -n "$mw_ka_pid" ] && kill -0 "$mw_ka_pid" 2>/dev/null; then
    kill -HUP "$mw_ka_pid"
    mw_mark 'keepalived reloaded'
else
    ${raw(ka.start)}
    mw_mark 'keepalived started'
fi`;
    const forward = sh`# keepalived: the VIP follows the primary.
mkdir -p "$MW_STEP_DIR" && chmod 0700 "$MW_STEP_DIR"
if [ ! -e ${raw(saved)} ] && [ ! -e ${raw(absent)} ]; then
    if [ -e ${conf} ]; then cp -p ${conf} ${raw(saved)}; else : >${raw(absent)}; fi
fi
mw_instance=VI_PG
if [ -e ${raw(saved)} ]; then
    mw_instance=$(awk '$1 == "vrrp_instance" { print $2; exit }' ${raw(saved)})
    case $mw_instance in ''|*[!A-Za-z0-9_.-]*) mw_die "cannot read the vrrp_instance name from ${conf}";; esac
fi
printf '%s' ${renderPrimaryCheck(r)} >${raw(check)}.new && chmod 0755 ${raw(check)}.new && mv -f ${raw(check)}.new ${raw(check)}
mkdir -p "$(dirname ${conf})"
printf '%s' ${renderKeepalivedConf(r, component, host, "@CHECK@")} | sed -e "s|^vrrp_instance INSTANCE |vrrp_instance $mw_instance |" -e "s|@CHECK@|$mw_pgdir/is-primary|" >${conf}.mw
chmod 0644 ${conf}.mw
if ! cmp -s ${conf}.mw ${conf}; then
    mv -f ${conf}.mw ${conf}
    ${raw(reload)}
else
    rm -f ${conf}.mw
    if ! { ${raw(ka.status)}; } >/dev/null 2>&1; then
        ${raw(reload)}
    fi
fi
`;
    const inverse = sh`# keepalived: the site's configuration back.
if [ -e ${raw(saved)} ]; then
    if ! cmp -s ${raw(saved)} ${conf}; then
        cp -p ${raw(saved)} ${conf}
        ${raw(reload)}
    fi
    rm -f ${raw(saved)}
elif [ -e ${raw(absent)} ]; then
    ${raw(ka.stop)} >/dev/null 2>&1 || :
    rm -f ${conf} ${raw(absent)}
fi
rm -f ${raw(check)}
`;
    return { forward, inverse };
}
