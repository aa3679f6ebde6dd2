/**
 * The plan of the FastDFS migration: pre-checks on every host; the added tracker; each legacy
 * tracker in turn; each storage learns all trackers; each storage (and its nginx) migrated one
 * at a time; then the download VIP on the nginx hosts.
 *
 * @module
 */
import { gate, sequence } from "../core/order";
import type { Plan, PlannedStep } from "../core/plan";
import type { ResolvedFastDfs } from "./args";
import { HostRoles, precheck } from "./prechecks";
import { learnTrackers, migrateStorage } from "./storages";
import { addTracker, migrateTracker } from "./trackers";
import { downloadVip } from "./vip";

/** Step ids of the plan, stable forever (they are part of resource names); `<host>` is the host's name. */
export const FASTDFS_STEPS = {
    precheck: (host: string) => `precheck-${host}`,
    addTracker: (host: string) => `tracker-add-${host}`,
    tracker: (host: string) => `tracker-${host}`,
    learnTrackers: (host: string) => `storage-learn-trackers-${host}`,
    storage: (host: string) => `storage-${host}`,
    vip: (host: string) => `vip-${host}`,
} as const;

/** What runs on each host of the site. */
export function hostRoles(r: ResolvedFastDfs): Map<string, HostRoles> {
    const roles = new Map<string, HostRoles>();
    for (const name of r.hosts.keys()) {
        const t = r.trackers.find((x) => x.host.name === name);
        const s = r.storages.find((x) => x.host.name === name);
        roles.set(name, { legacyTracker: !!t && !t.added, addedTracker: !!t?.added, storage: s ? { group: s.group, id: s.id } : undefined });
    }
    return roles;
}

/** The plan of component `name` for the resolved arguments. */
export function planFastDfs(name: string, r: ResolvedFastDfs): Plan {
    const ids = FASTDFS_STEPS;
    const layout = JSON.stringify({ legacy: r.legacy, managed: r.managed, ports: r.ports, home: r.home, version: r.version, trackers: r.trackers.map((t) => [t.host.name, t.host.address, t.added]) });
    const storagesKey = JSON.stringify(r.storages.map((s) => [s.host.name, s.host.address, s.group, s.id]));
    const triggers = [layout, storagesKey];
    const checks: PlannedStep[] = [...hostRoles(r)].map(([host, roles]) => ({
        id: ids.precheck(host),
        host,
        kind: "check",
        summary: [
            roles.legacyTracker ? "legacy tracker active" : roles.addedTracker ? "ports free for the added tracker" : "",
            roles.storage ? `storage ${roles.storage.id} of ${roles.storage.group} ACTIVE and in sync, nginx listening` : "",
            "one tracker leader, legacy paths present, no _bak, room",
        ].filter(Boolean).join("; "),
        action: precheck(r, host, roles),
    }));
    const added = r.trackers.filter((t) => t.added).map((t): PlannedStep => ({
        id: ids.addTracker(t.host.name),
        host: t.host.name,
        summary: `add the tracker (managed layout, ${r.managed.trackerBase})`,
        action: addTracker(r, t.host.name),
        triggers,
    }));
    const legacyTrackers = r.trackers.filter((t) => !t.added).map((t): PlannedStep => ({
        id: ids.tracker(t.host.name),
        host: t.host.name,
        summary: `stop the legacy tracker, rename ${r.legacy.trackerDir} to _bak, start the managed tracker with its data in ${r.managed.trackerBase}, storages rejoin`,
        action: migrateTracker(r, t.host.name),
        triggers,
    }));
    const learn = r.storages.map((s): PlannedStep => ({
        id: ids.learnTrackers(s.host.name),
        host: s.host.name,
        summary: `the legacy storage ${s.id} learns all ${r.trackers.length} trackers (restart), ACTIVE and in sync again`,
        action: learnTrackers(r, s),
        triggers,
    }));
    const storages = r.storages.map((s): PlannedStep => ({
        id: ids.storage(s.host.name),
        host: s.host.name,
        summary: `stop storaged and nginx, rename to _bak, managed storage ${s.id} of ${s.group} with the files moved to ${r.managed.storePath}/data, ACTIVE and in sync, nginx serving`,
        notice: "downloads from this host's nginx stop until it serves again (clients reaching it directly retry another); an upload routed to this storage can fail and must be retried (npm run bench -- fastdfs: longest download gap 374-648 ms, 3-4 failed uploads, 0 lost)",
        action: migrateStorage(r, s),
        triggers,
        timeoutSeconds: 600 + 4 * r.waitSeconds,
    }));
    const vips = r.storages.map((s, i): PlannedStep => ({
        id: ids.vip(s.host.name),
        host: s.host.name,
        summary: i === 0 ? `keepalived with the download VIP ${r.vip.address}` : `keepalived, backup of the download VIP ${r.vip.address}`,
        action: downloadVip(r, name, i),
        triggers: [...triggers, JSON.stringify(r.vip)],
    }));
    return { component: name, steps: gate([...checks, ...sequence([...added, ...legacyTrackers, ...learn, ...storages, ...vips])]) };
}
