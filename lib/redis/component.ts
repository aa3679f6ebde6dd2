/**
 * `RedisHa`: migrates a hand-installed Redis master/slave pair with keepalived to the managed
 * layout, keeping its VIP and password; `destroy` takes it back.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { materialize } from "../core/materialize";
import { describePlan, Plan } from "../core/plan";
import { RedisHaArgs, resolveRedisHa } from "./args";
import { planRedisHa } from "./plan";

/** Type token of {@link RedisHa}; stable forever. */
export const REDIS_HA_TYPE = "middleware:redis:RedisHa";

/** A Redis master/slave pair with keepalived, migrated to the managed layout. */
export class RedisHa extends pulumi.ComponentResource {
    /** Where clients connect: `<VIP>:<port>`, unchanged by the migration. */
    readonly endpoint: pulumi.Output<string>;
    /** The master's inventory name. */
    readonly masterHost: pulumi.Output<string>;
    /** The slave's inventory name. */
    readonly slaveHost: pulumi.Output<string>;
    /** The Redis version of the managed install. */
    readonly version: pulumi.Output<string>;
    /** The steps, for the approval report (`describePlan`). */
    readonly plan: Plan;

    /**
     * The plan the component would carry out for `args`, without creating anything: for
     * pre-flight checks and reports. The generated VRRP password is left out of it.
     *
     * @throws ConfigError naming every invalid argument
     */
    static planOf(name: string, args: RedisHaArgs): Plan {
        return planRedisHa(name, resolveRedisHa(name, args));
    }

    /**
     * @param name - the component's name; prefixes every step (`${name}-${host}-${step}`)
     * @param args - the pair; every argument is validated before anything is created
     * @param opts - component options
     */
    constructor(name: string, args: RedisHaArgs, opts?: pulumi.ComponentResourceOptions) {
        const resolved = resolveRedisHa(name, args);
        super(REDIS_HA_TYPE, name, {}, opts);
        const vrrpPassword = resolved.vip.password === undefined
            ? new random.RandomPassword(`${name}-vrrp-password`, { length: 8, special: false }, { parent: this }).result
            : undefined;
        this.plan = planRedisHa(name, resolved, vrrpPassword);
        materialize(this.plan, new Map([[resolved.master.name, resolved.master], [resolved.slave.name, resolved.slave]]), this);
        pulumi.log.info(describePlan(this.plan), this);
        this.endpoint = pulumi.output(`${resolved.vip.address}:${resolved.port}`);
        this.masterHost = pulumi.output(resolved.master.name);
        this.slaveHost = pulumi.output(resolved.slave.name);
        this.version = pulumi.output(resolved.version);
        this.registerOutputs({ endpoint: this.endpoint, masterHost: this.masterHost, slaveHost: this.slaveHost, version: this.version });
    }
}
