/**
 * The plan of the Redis pair's migration: which step runs on which host, in which order.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import { gate } from "../core/order";
import type { Plan, PlannedStep } from "../core/plan";
import type { ResolvedRedisHa } from "./args";
import { precheck } from "./prechecks";
import { stage } from "./stage";
import { install } from "./install";
import { masterSwitch } from "./master-switch";
import { removeBackups, slaveIn, slaveOut } from "./switch";

/** Step ids of the Redis plan, stable forever: they are part of the resource names. */
export const REDIS_STEPS = {
    masterPrecheck: "master-precheck",
    slavePrecheck: "slave-precheck",
    masterStage: "master-stage",
    slaveStage: "slave-stage",
    slaveInstall: "slave-install",
    masterInstall: "master-install",
    slaveOut: "slave-out",
    masterSwitch: "master-switch",
    slaveIn: "slave-in",
    masterRemoveBackups: "master-remove-backups",
    slaveRemoveBackups: "slave-remove-backups",
} as const;

/**
 * The plan of component `name` for the resolved arguments.
 *
 * @param generatedVrrpPassword - the VRRP password when `vip.password` is not given (`RedisHa`
 * generates one with `random.RandomPassword`); without either, the plan can be described but its
 * stage steps fail on the host, naming the missing secret
 */
export function planRedisHa(name: string, r: ResolvedRedisHa, generatedVrrpPassword?: pulumi.Input<string>): Plan {
    const M = r.master.name;
    const S = r.slave.name;
    const ids = REDIS_STEPS;
    const vrrpPassword = r.vip.password ?? generatedVrrpPassword;
    const password = pulumi.secret(pulumi.output(r.password).apply((p) => `${p}\n`));
    // The stage steps write keepalived.conf: the VRRP password follows the pair's.
    const stageStdin = pulumi.secret(pulumi.all([r.password, vrrpPassword ?? ""]).apply(([p, v]) => `${p}\n${v}\n`));
    const step = (s: Omit<PlannedStep, "stdin" | "protect">, stdin = password): PlannedStep => ({ ...s, stdin, protect: r.finalize });
    // What the outcome of a step depends on. A change redoes the step; pre-checks are never
    // redone (they describe the legacy site, which a completed migration has renamed). A new
    // version or install source redoes only the install steps, new version first.
    const { password: _vrrp, ...vip } = r.vip;
    const layout = JSON.stringify({ port: r.port, vip, legacy: r.legacy, managedRoot: r.managedRoot });
    const binaries = JSON.stringify({ version: r.version, source: r.source });
    const steps: PlannedStep[] = [
        step({ id: ids.masterPrecheck, host: M, kind: "check", summary: "legacy layout, password, master role, VIP, room for the data", action: precheck(r, "master") }),
        step({ id: ids.slavePrecheck, host: S, kind: "check", summary: "legacy layout, password, slave role and replication link", action: precheck(r, "slave") }),
        step({ id: ids.masterStage, host: M, summary: `stage configs, keepalived and init scripts under ${r.managedRoot} (master)`, action: stage(r, "master", M), triggers: [layout] }, stageStdin),
        step({ id: ids.slaveStage, host: S, summary: `stage configs, keepalived and init scripts under ${r.managedRoot} (slave)`, action: stage(r, "slave", S), triggers: [layout] }, stageStdin),
        step({
            id: ids.slaveInstall,
            host: S,
            summary: `install Redis ${r.version}; once serving, restart the slave on it`,
            action: install(r, "slave"),
            triggers: [layout, binaries],
            replace: "forward-first",
            after: [ids.slaveStage],
        }),
        step({
            id: ids.masterInstall,
            host: M,
            summary: `install Redis ${r.version}; once serving, restart the master on it with the VIP on the slave meanwhile`,
            notice: "on a version change only: writes refused for 0.2-1 s, twice, while the VIP moves to the slave and back (test/engine/redis-upgrade.test.ts: 0.22-1.01 s, 0 lost)",
            action: install(r, "master"),
            triggers: [layout, binaries],
            replace: "forward-first",
            after: [ids.masterStage, ids.slaveInstall],
        }),
        step({
            id: ids.slaveOut,
            host: S,
            summary: "stop the legacy slave and its keepalived; rename the legacy paths to _bak",
            action: slaveOut(r),
            triggers: [layout],
            after: [ids.masterInstall, ids.slaveInstall],
        }),
        step({
            id: ids.masterSwitch,
            host: M,
            summary: "switch window: pause writes, SAVE, stop legacy, rename to _bak, start managed, VIP; then prove the data equal",
            notice: "writes paused, then refused while the VIP moves: about 1 s (npm run bench -- redis: 1.01 s up, 0.76 s destroy, 0 lost)",
            action: masterSwitch(r),
            triggers: [layout],
            after: [ids.slaveOut],
        }),
        step({
            id: ids.slaveIn,
            host: S,
            summary: "start the managed slave, wait until in sync, start keepalived",
            action: slaveIn(r),
            triggers: [layout],
            after: [ids.masterSwitch],
        }),
    ];
    if (r.finalize) {
        steps.push(
            step({ id: ids.masterRemoveBackups, host: M, summary: "finalize: remove the legacy backups (irreversible)", action: removeBackups(r), after: [ids.slaveIn] }),
            step({ id: ids.slaveRemoveBackups, host: S, summary: "finalize: remove the legacy backups (irreversible)", action: removeBackups(r), after: [ids.slaveIn] }),
        );
    }
    return { component: name, steps: gate(steps) };
}
