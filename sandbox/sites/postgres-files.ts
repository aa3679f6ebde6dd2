import { sysvInitScript } from "../../lib/core/init-script";

/*
 * The files of the legacy PostgreSQL site as a hand install leaves them: Debian's PostgreSQL 15
 * binaries used in place, one cluster under /app/pgsql/data started by a SysV script, and
 * keepalived carrying the clients' VIP to the primary. h2 and h3 have the same software and no
 * cluster: the spare machines an upgrade builds its standbys on.
 */

/** Where the legacy layout puts things. */
export const LEGACY_POSTGRES = {
    version: "15",
    binDir: "/usr/lib/postgresql/15/bin",
    dataDir: "/app/pgsql/data",
    logFile: "/var/log/postgresql/postgresql.log",
    socketDir: "/var/run/postgresql",
    port: 5432,
    initScript: "/etc/init.d/postgresql",
    keepalivedConfig: "/etc/keepalived/keepalived.conf",
    keepalivedCheck: "/etc/keepalived/check_pg.sh",
    keepalivedInit: "/etc/init.d/keepalived",
    keepalivedPidFile: "/var/run/keepalived.pid",
    virtualRouterId: 52,
    priority: 150,
    database: "appdb",
    appUser: "app",
} as const;

/** Lines appended to the initdb's postgresql.conf: what the runbook's site had set by hand. */
export function postgresqlConfAdditions(): string {
    const L = LEGACY_POSTGRES;
    return [
        "",
        "# --- set by hand at install time ---",
        "listen_addresses = '*'",
        `port = ${L.port}`,
        `unix_socket_directories = '${L.socketDir}'`,
        "shared_buffers = 64MB",
        "max_wal_size = 1GB",
        "wal_level = replica",
        "max_wal_senders = 10",
        "max_replication_slots = 10",
        "hot_standby = on",
        "",
    ].join("\n");
}

/** pg_hba.conf as the site had it: local peer for the postgres account, the application's user from anywhere. */
export function renderPgHba(): string {
    const L = LEGACY_POSTGRES;
    return [
        "# pg_hba.conf, edited by hand",
        "# TYPE  DATABASE        USER            ADDRESS                 METHOD",
        "local   all             postgres                                peer",
        "local   all             all                                     peer",
        `host    ${L.database}           ${L.appUser}             0.0.0.0/0               scram-sha-256`,
        "",
    ].join("\n");
}

/** /etc/init.d/postgresql: pg_ctl as the postgres account (postmaster.pid holds more than a pid, so pg_ctl decides). */
export function renderPostgresInit(serverBinDir: string = LEGACY_POSTGRES.binDir): string {
    const L = LEGACY_POSTGRES;
    const pgCtl = `runuser -u postgres -- ${serverBinDir}/pg_ctl -D ${L.dataDir}`;
    return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          postgresql
# Required-Start:    $network $remote_fs
# Required-Stop:     $network $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: PostgreSQL ${L.version} (installed by hand)
### END INIT INFO
case "$1" in
    start)
        mkdir -p ${L.socketDir} /var/log/postgresql && chown postgres:postgres ${L.socketDir} /var/log/postgresql
        ${pgCtl} status >/dev/null 2>&1 && { echo "postgresql is already running"; exit 0; }
        ${pgCtl} -l ${L.logFile} -w -t 120 start >/dev/null || { echo "postgresql did not start" >&2; exit 1; }
        echo "postgresql started"
        ;;
    stop)
        ${pgCtl} status >/dev/null 2>&1 || { echo "postgresql is not running"; exit 0; }
        ${pgCtl} -m fast -w -t 120 stop >/dev/null || { echo "postgresql did not stop" >&2; exit 1; }
        echo "postgresql stopped"
        ;;
    status)
        ${pgCtl} status >/dev/null 2>&1 && { echo "postgresql is running"; exit 0; }
        echo "postgresql is not running"; exit 3
        ;;
    restart)
        "$0" stop && "$0" start
        ;;
    *)
        echo "usage: $0 {start|stop|status|restart}" >&2; exit 2
        ;;
esac
`;
}

/** keepalived.conf of the primary: the VIP stays where PostgreSQL answers. */
export function renderKeepalivedConf(host: string, vip: string, iface: string): string {
    const L = LEGACY_POSTGRES;
    return `! keepalived for PostgreSQL, installed by hand on ${host}
global_defs {
    router_id pg_${host}
    script_user root
    enable_script_security
}

vrrp_script chk_pg {
    script "${L.keepalivedCheck}"
    interval 2
    timeout 2
    fall 2
    rise 1
}

vrrp_instance VI_PG {
    state MASTER
    interface ${iface}
    virtual_router_id ${L.virtualRouterId}
    priority ${L.priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass pg${L.virtualRouterId}
    }
    virtual_ipaddress {
        ${vip}/24 dev ${iface}
    }
    track_script {
        chk_pg
    }
}
`;
}

/** The vrrp_script: PostgreSQL on this host accepts connections. */
export function renderKeepalivedCheck(): string {
    const L = LEGACY_POSTGRES;
    return `#!/bin/sh
# keepalived health check: the local PostgreSQL accepts connections.
exec ${L.binDir}/pg_isready -q -h ${L.socketDir} -p ${L.port}
`;
}

/** /etc/init.d/keepalived, as on the Redis site. */
export function renderKeepalivedInit(): string {
    const L = LEGACY_POSTGRES;
    return sysvInitScript({
        service: "keepalived",
        description: "keepalived",
        start: `        setsid /usr/sbin/keepalived --dont-fork --log-console --log-detail -f ${L.keepalivedConfig} -p ${L.keepalivedPidFile} \\
            -r /var/run/keepalived_vrrp.pid -c /var/run/keepalived_checkers.pid >>/var/log/keepalived.log 2>&1 </dev/null &`,
        pidFile: L.keepalivedPidFile,
        stopTimeoutSeconds: 30,
    });
}

/**
 * SQL that seeds the application database server-side: customers, orders with a text payload,
 * and an events table the clients write to; about 200 MB per million orders.
 */
export function seedSql(orders: number): string {
    const customers = Math.max(1, Math.floor(orders / 20));
    return `
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com', timestamptz '2020-01-01' + g * interval '1 minute'
  FROM generate_series(1::bigint, ${customers}) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, amount numeric(12,2) NOT NULL,
  status text NOT NULL, placed_at timestamptz NOT NULL, payload text NOT NULL);
INSERT INTO orders SELECT g, 1 + (g * 7919) % ${customers}, ((g * 104729) % 100000) / 100.0,
  (ARRAY['new','paid','shipped','returned'])[1 + g % 4], timestamptz '2021-01-01' + g * interval '10 seconds',
  repeat(md5(g::text), 4)
  FROM generate_series(1::bigint, ${orders}) g;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE events (id bigserial PRIMARY KEY, writer text NOT NULL, seq bigint NOT NULL, at timestamptz NOT NULL DEFAULT now(), UNIQUE (writer, seq));
ANALYZE;
`;
}
