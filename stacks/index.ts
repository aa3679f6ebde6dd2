/**
 * The site program: one stack per site. It reads the site's config and builds its topologies.
 * Removing a topology from the config rolls that topology back; `pulumi destroy` rolls back
 * the whole site.
 */
import { FastDfs } from "../lib/fastdfs/component";
import { PostgresHa } from "../lib/postgres/component";
import { RedisHa } from "../lib/redis/component";
import { readSite } from "./site-config";

const site = readSite();

export const redis = site.redis
    ? (() => {
          const r = site.redis;
          const pair = new RedisHa(r.name ?? "redis", {
              master: site.hosts.get(r.master)!,
              slave: site.hosts.get(r.slave)!,
              vip: r.vip,
              port: r.port,
              password: r.password,
              version: r.version,
              source: r.source,
              finalize: r.finalize,
          });
          return { endpoint: pair.endpoint, master: pair.masterHost, slave: pair.slaveHost, version: pair.version };
      })()
    : undefined;

export const postgres = site.postgres
    ? (() => {
          const c = site.postgres;
          const pair = new PostgresHa(c.name ?? "postgres", {
              master: site.hosts.get(c.master)!,
              standby: site.hosts.get(c.standby)!,
              primary: c.primary,
              version: c.version,
              binDir: c.binDir,
              dataDir: c.dataDir,
              port: c.port,
              vip: c.vip,
              replication: { user: c.replicationUser, password: c.replicationPassword },
              catchUpSeconds: c.catchUpSeconds,
          });
          return { endpoint: pair.endpoint, primary: pair.primaryHost, standby: pair.standbyHost };
      })()
    : undefined;

export const fastdfs = site.fastdfs
    ? (() => {
          const c = site.fastdfs;
          const host = (name: string) => site.hosts.get(name)!;
          const f = new FastDfs(c.name ?? "fastdfs", {
              trackers: c.trackers.map((t) => ({ host: host(t.host), added: t.added })),
              storages: c.storages.map((s) => ({ host: host(s.host), group: s.group, id: s.id })),
              vip: c.vip,
              version: c.version,
              home: c.home,
              legacy: c.legacy,
              managed: c.managed,
              ports: c.ports,
              waitSeconds: c.waitSeconds,
          });
          return { downloadEndpoint: f.downloadEndpoint, trackers: f.trackers, version: f.version };
      })()
    : undefined;
