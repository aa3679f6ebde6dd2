/**
 * How another repository encodes its own reversible procedure with the core (README,
 * "Encoding your own procedure"): stop nginx one host at a time and keep its config as `_bak`,
 * after `nginx -t` passed on every host. `pulumi destroy` restores the config and starts nginx.
 */
import * as pulumi from "@pulumi/pulumi";
import { backupPath, gate, HostArgs, inSequence, materialize, Plan, serviceState, sh } from "pulumi-middleware";

export class NginxCutover extends pulumi.ComponentResource {
    constructor(name: string, args: { hosts: HostArgs[] }, opts?: pulumi.ComponentResourceOptions) {
        super("mycorp:nginx:Cutover", name, {}, opts);
        const plan: Plan = {
            component: name,
            steps: gate(
                args.hosts.flatMap((h, i) => [
                    { id: `${h.name}-check`, host: h.name, kind: "check" as const, summary: "nginx -t passes", action: { forward: sh`nginx -t`, inverse: "" } },
                    {
                        id: `${h.name}-swap`,
                        host: h.name,
                        summary: "stop nginx, keep its config as _bak",
                        after: i > 0 ? [`${args.hosts[i - 1].name}-swap`] : [],
                        action: inSequence(
                            serviceState({ service: "nginx", state: "stopped", manager: { kind: "sysv" } }),
                            backupPath({ path: "/usr/local/nginx/conf" }),
                        ),
                    },
                ]),
            ),
        };
        materialize(plan, new Map(args.hosts.map((h) => [h.name, h])), this);
        this.registerOutputs({});
    }
}
