/**
 * The plan of the PostgreSQL pair: which step runs on which host, in which order.
 *
 * The standby is built once (replication on the master, then the base backup). A switchover is
 * two more steps that exist only while `primary` names the standby: the standby's (its forward
 * proves it caught up; its inverse is the switch back) and then the master's (the switch). When
 * `primary` is set back, or on destroy, the engine deletes them in reverse: the switch back runs.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan, PlannedStep } from "../core/plan";
import type { ResolvedPostgresHa } from "./args";
import { masterReplication } from "./replication";
import { buildStandby } from "./standby";
import { switchBack, switchToStandby } from "./switchover";
import { upgradeMaster } from "./upgrade";
import { minorRoll, onBuild } from "./minor-roll";
import { standbyFollowsMaster, standbyOnNewVersion } from "./spare";
import { masterPrecheck, standbyPrecheck } from "./prechecks";

/** Step ids of the PostgreSQL plan, stable forever: they are part of the resource names. */
export const POSTGRES_STEPS = {
    masterPrecheck: "master-precheck",
    standbyPrecheck: "standby-precheck",
    sparePrecheck: "spare-precheck",
    masterReplication: "master-replication",
    standbyBuild: "standby-build",
    standbySwitchBack: "standby-switch-back",
    masterSwitchover: "master-switchover",
    standbyOldVersion: "standby-old-version",
    masterUpgrade: "master-upgrade",
    standbyMinorRoll: "standby-minor-roll",
    masterMinorRoll: "master-minor-roll",
    standbyMinorSwitchBack: "standby-minor-switch-back",
    spareBuild: "spare-build",
    standbyFollowsMaster: "standby-follows-master",
    spareOldVersion: "spare-old-version",
    standbyNewVersion: "standby-new-version",
} as const;

/**
 * What clients notice of the steps that stop or move the primary, with the bench figures they
 * come from (`npm run bench -- postgres`, docs/postgres.md: a client committing through the VIP
 * every 10 ms, 0 commits lost in every run). The builds and checks move nothing: their write gap
 * is a query's (45-80 ms measured over a whole standby build), so they declare nothing.
 */
const NOTICE = {
    switchover: "writes refused while the primary stops and the standby is promoted, then the VIP moves: about 1-3 s; open connections are reset and clients reconnect; no acknowledged commit lost (bench: switchover 815-2536 ms)",
    switchBackOnUndo: "on undo only (primary set back, or destroy): the switch back, writes refused about 1-3 s and connections reset, no acknowledged commit lost (bench: switch back 1371-2312 ms); the check itself is not noticed",
    upgrade: "writes refused while the master stops, pg_upgrade --link runs and it starts on the new version: about 3-4 s; connections reset (bench, 351 MB: 3297-4073 ms); its undo, the way back, refuses writes about 3-5.5 s (bench: 2715-5398 ms)",
    minorSwitch: "writes refused about 1-2 s while the VIP moves, connections reset, no acknowledged commit lost (bench: minor roll 1442-1780 ms); its undo switches the same way",
    minorStandbyOnUndo: "on undo only (destroy, or upgrade removed): the switch back to the master, writes refused about 1-2 s as in the roll (bench: minor roll 1442-1780 ms); restarting the standby itself is not noticed",
} as const;

/** Seconds a switch waits for the standby to be close and to replay the shutdown checkpoint. */
export const DEFAULT_SWITCH_SECONDS = 30;

/** The plan of component `name` for the resolved arguments; `password` is the replication password (a secret). */
export function planPostgresHa(name: string, r: ResolvedPostgresHa, password: pulumi.Input<string>, switchSeconds = DEFAULT_SWITCH_SECONDS): Plan {
    const M = r.master.name;
    const S = r.standby.name;
    const ids = POSTGRES_STEPS;
    const stdin = pulumi.secret(pulumi.output(password).apply((p) => `${p}\n`));
    const step = (s: Omit<PlannedStep, "stdin">): PlannedStep => ({ ...s, stdin });
    // What the built pair depends on; a change rebuilds it (switching back first).
    const pair = JSON.stringify({
        master: r.master.address, standby: r.standby.address, version: r.version, binDir: r.binDir, dataDir: r.dataDir,
        port: r.port, user: r.replicationUser, vip: r.vip, keepalived: { ...r.keepalived, serviceManager: r.keepalived.serviceManager.kind },
        // Only when set apart, so that the triggers of pairs built before it existed stay the same.
        ...(r.clientBinDir !== r.binDir ? { clientBinDir: r.clientBinDir } : {}),
        ...(r.spare ? { spare: r.spare.address } : {}),
    });
    const P = r.spare?.name;
    // Read-only, reading no secret: no stdin. Never redone, as Redis's: they describe the pair before its build.
    const prechecks: PlannedStep[] = [
        { id: ids.masterPrecheck, host: M, kind: "check", summary: `the master serves PostgreSQL ${r.version} in ${r.dataDir}, fit for a standby (wal_level, max_wal_senders, max_replication_slots, pg_hba.conf)`, action: masterPrecheck(r) },
        { id: ids.standbyPrecheck, host: S, kind: "check", summary: `the standby's binaries, an empty ${r.dataDir} (or the standby built there), the master's port reachable`, action: standbyPrecheck(r, "standby", ids.standbyBuild) },
        ...(r.spare ? [{ id: ids.sparePrecheck, host: P!, kind: "check" as const, summary: `the spare's binaries, an empty ${r.dataDir} (or the spare built there), the master's port reachable`, action: standbyPrecheck(r, "spare", ids.spareBuild) }] : []),
    ];
    const steps: PlannedStep[] = [
        ...prechecks,
        step({
            id: ids.masterReplication,
            host: M,
            summary: `replication account ${r.replicationUser}, slot and pg_hba.conf entries; keepalived moves the VIP ${r.vip.address} with the primary`,
            action: masterReplication(r, name),
            triggers: [pair],
            after: prechecks.map((c) => c.id),
        }),
        step({
            id: ids.standbyBuild,
            host: S,
            summary: `build the standby: base backup of ${M} into ${r.dataDir}, stream, replay caught up; keepalived`,
            action: buildStandby(r, name),
            triggers: [pair],
            after: [ids.masterReplication],
            timeoutSeconds: 3600,
        }),
    ];
    if (r.spare) {
        steps.push(step({
            id: ids.spareBuild,
            host: P!,
            summary: `build the spare: a second standby, base backup of ${M} into ${r.dataDir}, stream, replay caught up; keepalived`,
            action: buildStandby(r, name, r.spare),
            triggers: [pair],
            after: [ids.masterReplication],
            timeoutSeconds: 3600,
        }));
    }
    if (r.primary === S) {
        steps.push(
            step({
                id: ids.standbySwitchBack,
                host: S,
                notice: NOTICE.switchBackOnUndo,
                summary: `check: streams from ${M} and caught up (undo: switch back to ${M})`,
                action: switchBack(r, switchSeconds),
                triggers: [pair],
                after: [ids.standbyBuild],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.masterSwitchover,
                host: M,
                notice: NOTICE.switchover,
                summary: `switchover to ${S}: checkpoint, clean stop, ${S} replays the shutdown checkpoint, promote, VIP follows, ${M} rejoins as standby`,
                action: switchToStandby(r, switchSeconds),
                triggers: [pair],
                after: [ids.standbySwitchBack],
                timeoutSeconds: 1800,
            }),
        );
    }
    if (r.upgrade && r.upgrade.version === r.version) {
        const to = onBuild(r, r.upgrade.binDir, r.upgrade.binDir);
        const roll = minorRoll(r, to, switchSeconds);
        const triggers = [pair, JSON.stringify(r.upgrade)];
        steps.push(
            step({
                id: ids.standbyMinorRoll,
                host: S,
                notice: NOTICE.minorStandbyOnUndo,
                summary: `minor roll: restart the standby on ${r.upgrade.binDir}, stream, caught up (undo: switch back to ${M}, rejoining on ${r.binDir})`,
                action: roll.standby,
                triggers,
                after: [ids.standbyBuild],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.masterMinorRoll,
                host: M,
                notice: NOTICE.minorSwitch,
                summary: `minor roll: switchover to ${S}, ${M} rejoins on ${r.upgrade.binDir} (undo: switchover to ${S}, ${M} rejoins on ${r.binDir})`,
                action: roll.master,
                triggers,
                after: [ids.standbyMinorRoll],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.standbyMinorSwitchBack,
                host: S,
                notice: NOTICE.minorSwitch,
                summary: `minor roll: switch back to ${M}, ${S} rejoins on ${r.upgrade.binDir} (undo: restart the standby on ${r.binDir})`,
                action: roll.switchBack,
                triggers,
                after: [ids.masterMinorRoll],
                timeoutSeconds: 1800,
            }),
        );
    } else if (r.upgrade && r.spare) {
        const u = r.upgrade;
        const triggers = [pair, JSON.stringify(u)];
        const onSpare = { ...r, standby: r.spare };
        steps.push(
            step({
                id: ids.standbyFollowsMaster,
                host: S,
                summary: `check: streams from ${M} (undo: streams from ${M} again, after the way back)`,
                action: standbyFollowsMaster(r),
                triggers,
                after: [ids.standbyBuild],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.spareOldVersion,
                host: P!,
                notice: NOTICE.switchBackOnUndo,
                summary: `check: the spare streams from ${M} and caught up; stays on PostgreSQL ${r.version} as the way back (undo: switch back to ${M})`,
                action: switchBack(onSpare, switchSeconds),
                triggers,
                after: [ids.spareBuild, ids.standbyFollowsMaster],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.masterUpgrade,
                host: M,
                notice: NOTICE.upgrade,
                summary: `upgrade to PostgreSQL ${u.version}: clean stop once the spare ${P} is caught up, ${P} replays the shutdown checkpoint, pg_upgrade --link, ` +
                    `start behind the VIP (undo: the runbook's way back: promote ${P}, rebuild ${M} from an empty data directory, check pg_hba.conf, agree after traffic; refused once ${u.version} took writes)`,
                action: upgradeMaster(r, switchSeconds),
                triggers,
                after: [ids.spareOldVersion],
                timeoutSeconds: 3600,
            }),
            step({
                id: ids.standbyNewVersion,
                host: S,
                summary: `rebuild the standby on PostgreSQL ${u.version} from ${M} (undo: rebuild it on ${r.version} from the spare ${P}, cascading from it)`,
                action: standbyOnNewVersion(r),
                triggers,
                after: [ids.masterUpgrade],
                timeoutSeconds: 3600,
            }),
        );
    } else if (r.upgrade) {
        const u = r.upgrade;
        const upgrade = JSON.stringify(u);
        steps.push(
            step({
                id: ids.standbyOldVersion,
                host: S,
                notice: NOTICE.switchBackOnUndo,
                summary: `check: streams from ${M} and caught up; stays on PostgreSQL ${r.version} as the way back (undo: switch back to ${M})`,
                action: switchBack(r, switchSeconds),
                triggers: [pair, upgrade],
                after: [ids.standbyBuild],
                timeoutSeconds: 1800,
            }),
            step({
                id: ids.masterUpgrade,
                host: M,
                notice: NOTICE.upgrade,
                summary: `upgrade to PostgreSQL ${u.version}: clean stop once ${S} is caught up, ${S} replays the shutdown checkpoint, pg_upgrade --link, ` +
                    `start behind the VIP (undo: the runbook's way back: promote ${S}, rebuild ${M} from an empty data directory, check pg_hba.conf, agree after traffic; refused once ${u.version} took writes)`,
                action: upgradeMaster(r, switchSeconds),
                triggers: [pair, upgrade],
                after: [ids.standbyOldVersion],
                timeoutSeconds: 3600,
            }),
        );
    }
    return { component: name, steps };
}
