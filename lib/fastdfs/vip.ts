/**
 * The download VIP: keepalived on every nginx host (the storage hosts), VRRP by unicast between
 * them, the VIP on the first while its nginx runs; a host whose nginx is down goes to FAULT and
 * the next takes the VIP after three advert intervals.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import type { ResolvedFastDfs } from "./args";
import { fastdfsPreamble, MANAGED_MARK, stepPreamble } from "./fdfs-sh";

/** VRRPv3 advert interval: a backup takes the VIP about three of them after the holder's nginx stops. */
export const ADVERT_INTERVAL_SECONDS = 0.2;

/** keepalived's files on a host. */
export function vipPaths(r: ResolvedFastDfs) {
    const c = r.managed.confDir;
    return { conf: `${c}/keepalived.conf`, check: `${c}/nginx-alive.sh`, pid: `${c}/keepalived.pid`, vrrpPid: `${c}/keepalived-vrrp.pid` };
}

/** keepalived.conf of the `index`-th nginx host. */
export function renderVipConf(r: ResolvedFastDfs, component: string, index: number): string {
    const self = r.storages[index].host;
    const peers = r.storages.filter((_, i) => i !== index).map((s) => s.host.address);
    const p = vipPaths(r);
    return `${MANAGED_MARK}
! keepalived for the FastDFS download VIP (${component}) on ${self.name}
global_defs {
    router_id fdfs_${self.name.replace(/[^A-Za-z0-9_]/g, "_")}
    script_user root
    enable_script_security
    vrrp_check_unicast_src
}
vrrp_script mw_nginx_alive {
    script "${p.check}"
    interval 1
    timeout 1
    fall 1
    rise 1
}
vrrp_instance FDFS_DOWNLOAD {
    state BACKUP
    version 3
    interface ${r.vip.interface}
    virtual_router_id ${r.vip.virtualRouterId}
    priority ${200 - index * 10}
    advert_int ${ADVERT_INTERVAL_SECONDS}
    unicast_src_ip ${self.address}
    unicast_peer {
${peers.map((a) => `        ${a}`).join("\n")}
    }
    virtual_ipaddress {
        ${r.vip.address}/${r.vip.prefix} dev ${r.vip.interface}
    }
    track_script {
        mw_nginx_alive
    }
}
`;
}

/** On the `index`-th nginx host: keepalived with the download VIP. Inverse: keepalived stopped, its files removed. */
export function downloadVip(r: ResolvedFastDfs, component: string, index: number): Reversible {
    const p = vipPaths(r);
    const nginxPid = `${r.legacy.nginxDir}/logs/nginx.pid`;
    const check = `#!/bin/sh\n${MANAGED_MARK}\n[ -f ${nginxPid} ] && kill -0 "$(cat ${nginxPid})" 2>/dev/null\n`;
    const hasVip = sh`ip -4 -o addr show dev ${r.vip.interface} | grep -qF ${` ${r.vip.address}/`}`;
    const running = sh`{ [ -f ${p.pid} ] && kill -0 "$(cat ${p.pid})" 2>/dev/null; }`;
    const forward = sh`${raw(stepPreamble(r))}
command -v keepalived >/dev/null || mw_die 'keepalived is not installed on this host'
mw_put ${p.check} 0755 ${check}
mw_put ${p.conf} 0644 ${renderVipConf(r, component, index)}
if ${raw(running)}; then
    kill -HUP "$(cat ${p.pid})"
else
    keepalived --vrrp -f ${p.conf} -p ${p.pid} -r ${p.vrrpPid} </dev/null >/dev/null 2>&1 || mw_die 'keepalived did not start'
fi
mw_keepalived_up() { ${raw(running)}; }
mw_wait 10 'keepalived to run' mw_keepalived_up
mw_wait ${r.waitSeconds} ${`all ${r.trackers.length} trackers to know each other with one leader`} mw_one_leader
${raw(index === 0
        ? sh`mw_has_vip() { ${raw(hasVip)}; }
mw_wait ${r.waitSeconds} ${`the VIP ${r.vip.address} on this host`} mw_has_vip
mw_mark ${`the download VIP ${r.vip.address} is on this host`}`
        : sh`mw_mark ${`keepalived runs as a backup of the download VIP ${r.vip.address}`}`)}
`;
    const inverse = sh`${raw(fastdfsPreamble(r))}
if ${raw(running)}; then
    mw_ka=$(cat ${p.pid})
    kill -TERM "$mw_ka"
    mw_gone() { ! kill -0 "$mw_ka" 2>/dev/null; }
    mw_wait 30 'keepalived to stop' mw_gone
fi
rm -f ${p.conf} ${p.check} ${p.pid} ${p.vrrpPid}
rmdir ${r.managed.confDir} 2>/dev/null || :
mw_mark 'keepalived stopped; the download VIP is off this host'
`;
    return { forward, inverse };
}
