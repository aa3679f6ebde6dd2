/**
 * `PostgresHa`: a PostgreSQL master with a streaming standby built beside it, the VIP following
 * the primary, and switchover as a change of `primary`; `destroy` switches back and removes the
 * standby and everything it added on the master.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { materialize } from "../core/materialize";
import { describePlan, Plan } from "../core/plan";
import { PostgresHaArgs, resolvePostgresHa } from "./args";
import { planPostgresHa } from "./plan";

/** Type token of {@link PostgresHa}; stable forever. */
export const POSTGRES_HA_TYPE = "middleware:postgres:PostgresHa";

/** A PostgreSQL master/standby pair behind a keepalived VIP. */
export class PostgresHa extends pulumi.ComponentResource {
    /** Where clients connect: `<VIP>:<port>`. */
    readonly endpoint: pulumi.Output<string>;
    /** The host that serves writes. */
    readonly primaryHost: pulumi.Output<string>;
    /** The host that streams from it. */
    readonly standbyHost: pulumi.Output<string>;
    /** The replication account's password (a secret). */
    readonly replicationPassword: pulumi.Output<string>;
    /** The steps, for the approval report (`describePlan`). */
    readonly plan: Plan;

    /**
     * The plan the component would carry out for `args`, without creating anything: for
     * pre-flight checks and reports. A generated replication password is left out of it.
     *
     * @throws ConfigError naming every invalid argument
     */
    static planOf(name: string, args: PostgresHaArgs): Plan {
        const r = resolvePostgresHa(name, args);
        return planPostgresHa(name, r, r.replicationPassword ?? "");
    }

    /**
     * @param name - the component's name; prefixes every step (`${name}-${host}-${step}`)
     * @param args - the pair; every argument is validated before anything is created
     * @param opts - component options
     */
    constructor(name: string, args: PostgresHaArgs, opts?: pulumi.ComponentResourceOptions) {
        const r = resolvePostgresHa(name, args);
        super(POSTGRES_HA_TYPE, name, {}, opts);
        const password = r.replicationPassword !== undefined
            ? pulumi.secret(pulumi.output(r.replicationPassword))
            : new random.RandomPassword(`${name}-replication-password`, { length: 32, special: false }, { parent: this }).result;
        this.plan = planPostgresHa(name, r, password);
        const hosts = new Map([[r.master.name, r.master], [r.standby.name, r.standby]]);
        if (r.spare) hosts.set(r.spare.name, r.spare);
        materialize(this.plan, hosts, this);
        pulumi.log.info(describePlan(this.plan), this);
        const standby = r.primary === r.master.name ? r.standby.name : r.master.name;
        this.endpoint = pulumi.output(`${r.vip.address}:${r.port}`);
        this.primaryHost = pulumi.output(r.primary);
        this.standbyHost = pulumi.output(standby);
        this.replicationPassword = pulumi.secret(password);
        this.registerOutputs({ endpoint: this.endpoint, primaryHost: this.primaryHost, standbyHost: this.standbyHost });
    }
}
