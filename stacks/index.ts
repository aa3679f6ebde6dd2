/**
 * The site program: one stack per site. It reads the site's config and builds its topologies.
 * Removing a topology from the config rolls that topology back; `pulumi destroy` rolls back
 * the whole site.
 */
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
