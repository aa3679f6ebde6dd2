/**
 * `FastDfs`: migrates a hand-installed FastDFS site (two trackers, storages with nginx and the
 * FastDFS module) to the managed layout with three trackers and a download VIP, keeping
 * downloads served and every file; `destroy` takes it back.
 *
 * @module
 */
import * as pulumi from "@pulumi/pulumi";
import { materialize } from "../core/materialize";
import { describePlan, Plan } from "../core/plan";
import { FastDfsArgs, resolveFastDfs } from "./args";
import { planFastDfs } from "./plan";

/** Type token of {@link FastDfs}; stable forever. */
export const FASTDFS_TYPE = "middleware:fastdfs:FastDfs";

/** A FastDFS site migrated to the managed layout. */
export class FastDfs extends pulumi.ComponentResource {
    /** Where clients download: `http://<VIP>:<http port>`. */
    readonly downloadEndpoint: pulumi.Output<string>;
    /** The trackers as clients list them, `address:port`. */
    readonly trackers: pulumi.Output<string[]>;
    /** The FastDFS version of the managed install. */
    readonly version: pulumi.Output<string>;
    /** The steps, for the approval report (`describePlan`). */
    readonly plan: Plan;

    /**
     * The plan the component would carry out for `args`, without creating anything: for
     * pre-flight checks and reports.
     *
     * @throws ConfigError naming every invalid argument
     */
    static planOf(name: string, args: FastDfsArgs): Plan {
        return planFastDfs(name, resolveFastDfs(name, args));
    }

    /**
     * @param name - the component's name; prefixes every step (`${name}-${host}-${step}`)
     * @param args - the site; every argument is validated before anything is created
     * @param opts - component options
     */
    constructor(name: string, args: FastDfsArgs, opts?: pulumi.ComponentResourceOptions) {
        const resolved = resolveFastDfs(name, args);
        super(FASTDFS_TYPE, name, {}, opts);
        this.plan = planFastDfs(name, resolved);
        materialize(this.plan, resolved.hosts, this);
        pulumi.log.info(describePlan(this.plan), this);
        this.downloadEndpoint = pulumi.output(`http://${resolved.vip.address}:${resolved.ports.http}`);
        this.trackers = pulumi.output(resolved.trackers.map((t) => `${t.host.address}:${resolved.ports.tracker}`));
        this.version = pulumi.output(resolved.version);
        this.registerOutputs({ downloadEndpoint: this.downloadEndpoint, trackers: this.trackers, version: this.version });
    }
}
