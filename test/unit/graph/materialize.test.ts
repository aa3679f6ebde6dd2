import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { connectionOf, HostArgs } from "../../../lib/core/host";
import { materialize } from "../../../lib/core/materialize";
import { gate } from "../../../lib/core/order";
import type { Plan } from "../../../lib/core/plan";

interface Registered {
    name: string;
    type?: string;
    ignoreChanges?: string[];
    customTimeouts?: pulumi.CustomTimeouts;
    inputs: Record<string, unknown>;
    dependsOn: string[];
    deleteBeforeReplace?: boolean;
}

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (name: string, address: string): HostArgs => ({ name, address, privateKey: pulumi.secret("-----KEY-----"), hostKey });

async function build(plan: Plan): Promise<Registered[]> {
    const registered: Registered[] = [];
    const names = new Map<pulumi.Resource, string>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const r = registered.find((x) => x.name === args.name)!;
                r.inputs = args.inputs;
                r.type = args.type;
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: () => ({}),
        },
        "project",
        "stack",
        true,
    );
    const record: pulumi.ResourceTransformation = (args) => {
        names.set(args.resource, args.name);
        registered.push({
            name: args.name,
            inputs: {},
            dependsOn: ((args.opts.dependsOn as pulumi.Resource[] | undefined) ?? []).map((r) => names.get(r)!),
            deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
            ignoreChanges: args.opts.ignoreChanges,
            customTimeouts: (args.opts as pulumi.CustomResourceOptions).customTimeouts,
        });
        return undefined;
    };
    class Component extends pulumi.ComponentResource {
        constructor() {
            super("test:index:Component", "c", {}, { transformations: [record] });
            materialize(plan, new Map([["h1", host("h1", "10.0.0.1")], ["h2", host("h2", "10.0.0.2")]]), this);
        }
    }
    new Component();
    await new Promise((resolve) => setTimeout(resolve, 200));
    return registered.filter((r) => r.name !== "c");
}

describe("materialize", function () {
    const plan: Plan = {
        component: "site",
        steps: gate([
            { id: "precheck", host: "h1", kind: "check", summary: "check", action: { forward: ": check", inverse: "" } },
            { id: "stop", host: "h2", summary: "stop", action: { forward: ": stop", inverse: ": start" } },
            { id: "install", host: "h1", summary: "install", action: { forward: ": in", inverse: ": out" }, after: ["stop"], replace: "forward-first", triggers: ["7.2.4"] },
        ]),
    };

    it("names steps component-host-id, with one readiness poll per host that its steps wait on", async function () {
        const r = await build(plan);
        assert.deepEqual(r.map((x) => [x.name, x.dependsOn]), [
            ["site-h1-ready", []],
            ["site-h1-precheck", ["site-h1-ready"]],
            ["site-h2-ready", []],
            ["site-h2-stop", ["site-h2-ready", "site-h1-precheck"]],
            ["site-h1-install", ["site-h1-ready", "site-h2-stop", "site-h1-precheck"]],
        ]);
    });

    it("renders the scripts, keeps triggers, and chooses the replacement order per step", async function () {
        const r = await build(plan);
        const install = r.find((x) => x.name === "site-h1-install")!;
        assert.equal(install.deleteBeforeReplace, false);
        assert.equal(r.find((x) => x.name === "site-h2-stop")!.deleteBeforeReplace, true);
        assert.deepEqual(install.inputs.triggers, ["7.2.4"]);
        assert.match(install.inputs.create as string, /^exec \/bin\/sh -c '#!\/bin\/sh\n/);
        assert.match(install.inputs.create as string, /MW_STEP='\\''install'\\''/);
        assert.match(install.inputs.delete as string, /MW_DIRECTION='\\''inverse'\\''/);
        assert.equal(r.find((x) => x.name === "site-h1-precheck")!.inputs.delete, undefined, "a check has no inverse");
    });

    it("makes every step a command:remote:Command that keeps the scripts it ran and bounds its time", async function () {
        const r = await build(plan);
        for (const step of r) {
            assert.equal(step.type, "command:remote:Command", step.name);
            assert.deepEqual(step.ignoreChanges, ["create", "update", "delete"], step.name);
            assert.equal(step.inputs.update, "true", "a changed connection or stdin is recorded in place; nothing else runs");
            assert.equal(step.inputs.addPreviousOutputInEnv, false);
            assert.deepEqual(step.customTimeouts, { create: "900s", update: "900s", delete: "900s" });
        }
    });

    it("pins the host key and bounds the dialling, through a jump host too", async function () {
        const jump = { address: "10.0.0.9", privateKey: pulumi.secret("-----JUMP-----"), hostKey: hostKey.replace("AAAA", "BBBB") };
        const c = await new Promise<Record<string, unknown>>((resolve) =>
            pulumi.unsecret(connectionOf({ ...host("h1", "10.0.0.1"), proxy: jump }, { dialErrorLimit: 3, perDialTimeout: 7 }))
                .apply((x) => resolve(x as unknown as Record<string, unknown>)));
        assert.deepEqual(c, {
            host: "10.0.0.1", port: 22, user: "root", privateKey: "-----KEY-----", hostKey, dialErrorLimit: 3, perDialTimeout: 7,
            proxy: { host: "10.0.0.9", port: 22, user: "root", privateKey: "-----JUMP-----", hostKey: jump.hostKey, dialErrorLimit: 3, perDialTimeout: 7 },
        });
    });

    it("rejects a plan naming an unknown host, naming the step and the hosts it knows", async function () {
        await assert.rejects(
            build({ component: "site", steps: [{ id: "x", host: "h9", summary: "x", action: { forward: ":", inverse: "" } }] }),
            /steps\.x\.host: must be one of h1, h2 \(got "h9"\)/,
        );
    });

    it("redoes a step whose stdin changed only when it asks for it, with the stdin's digest kept secret", async function () {
        const planWith = (content: string, redo: boolean): Plan => ({
            component: "site",
            steps: [{ id: "conf", host: "h1", summary: "conf", action: { forward: ": w", inverse: ": r" }, stdin: pulumi.secret(content), redoWhenStdinChanges: redo }],
        });
        const SECRET_SIG = "4dabf18193072939515e22adb298388d"; // how the engine marks a secret value
        const triggersOf = async (p: Plan) => {
            const t = (await build(p)).find((x) => x.name === "site-h1-conf")!.inputs.triggers as { [SECRET_SIG]?: string; value?: string[] } | undefined;
            if (t === undefined) return undefined;
            assert.ok(t[SECRET_SIG], "the triggers holding the stdin digest must be secret");
            return t.value;
        };
        const [a, b] = [await triggersOf(planWith("port 1\n", true)), await triggersOf(planWith("port 2\n", true))];
        assert.equal(a!.length, 1);
        assert.match(a![0], /^[0-9a-f]{64}$/);
        assert.notEqual(a![0], b![0]);
        assert.equal(await triggersOf(planWith("port 1\n", false)), undefined);
    });

    it("marks the connection secret: it holds the private key", async function () {
        assert.equal(await pulumi.isSecret(connectionOf(host("h1", "10.0.0.1"), { dialErrorLimit: 1, perDialTimeout: 1 })), true);
    });
});
