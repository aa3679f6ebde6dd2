import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkpointPath, engineEnv, engineVersion, localStack, sha256File, toolchain, toolchainPlugins } from "../../tools/engine";

const program = path.join(__dirname, "fixtures", "smoke");
const stackName = `smoke-${process.pid}`;

describe("engine smoke test (real pulumi up / preview / destroy)", function () {
    let stack: Stack;
    let marker: string;

    before(async function () {
        const version = await engineVersion();
        const sdk = require("@pulumi/pulumi/package.json").version;
        console.log(`      engine: pulumi ${version}, @pulumi/pulumi ${sdk}`);
        assert.equal(version, `v${sdk}`, "the CLI must be the version of @pulumi/pulumi in package-lock.json");
        marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "smoke-")), "marker");
        stack = await localStack(program, stackName);
        await stack.setConfig("marker", { value: marker });
    });

    after(async function () {
        if (stack) await stack.workspace.removeStack(stackName, { force: true });
    });

    it("loads the command and random plugins the toolchain built, at the npm packages' versions", async function () {
        const { execFileSync } = await import("node:child_process");
        const listed: { name: string; kind: string; version: string; path: string }[] = JSON.parse(execFileSync(
            path.join(await toolchain(), "pulumi"), ["plugin", "ls", "--json"], { env: await engineEnv(), encoding: "utf8" }));
        for (const p of await toolchainPlugins()) {
            const entry = listed.find((x) => x.kind === "resource" && x.name === p.name);
            assert.ok(entry, `the engine lists no ${p.name} plugin`);
            assert.equal(entry.version, p.version, `${p.name}: the version of @pulumi/${p.name} in package-lock.json`);
            assert.equal(sha256File(p.installed), sha256File(p.built), `${p.name}: the engine's copy is the toolchain's build`);
            console.log(`      ${p.name} ${entry.version}: ${path.relative(process.cwd(), p.installed)} = ${p.built}`);
        }
    });

    it("up creates the resources and returns their outputs", async function () {
        let output = "";
        const result = await stack.up({ onOutput: (line) => { output += line; process.stdout.write(`      | ${line}`); } });
        assert.equal(result.summary.result, "succeeded");
        assert.doesNotMatch(output, /from \$PATH/, "every plugin comes from the toolchain's install, none from PATH");
        assert.equal(result.summary.resourceChanges?.create, 3);
        assert.equal(result.outputs.stdout.value, "hello from the engine");
        assert.equal(result.outputs.generatedPassword.secret, true);
        assert.match(result.outputs.generatedPassword.value, /^[A-Za-z0-9]{24}$/);
        const providers = (await stack.exportStack()).deployment.resources
            .filter((r: { type: string }) => r.type.startsWith("pulumi:providers:"))
            .map((r: { type: string; inputs: { version: string } }) => `${r.type.split(":")[2]} ${r.inputs.version}`);
        assert.deepEqual(providers.sort(), (await toolchainPlugins()).map((p) => `${p.name} ${p.version}`).sort());
        assert.equal(fs.readFileSync(marker, "utf8"), "created\n");
    });

    it("stores the password encrypted in the state file", async function () {
        const outputs = await stack.outputs();
        const password: string = outputs.generatedPassword.value;
        const checkpoint = fs.readFileSync(checkpointPath("engine-smoke", stackName), "utf8");
        assert.ok(!checkpoint.includes(password), "the password must not appear in clear in the state");
        const stackOutputs = JSON.parse(checkpoint).checkpoint.latest.resources[0].outputs;
        assert.ok(stackOutputs.generatedPassword.ciphertext, "the stack output must be stored as ciphertext");
    });

    it("preview of the unchanged program expects no changes", async function () {
        const result = await stack.preview({ expectNoChanges: true });
        assert.deepEqual(result.changeSummary, { same: 3 });
    });

    it("destroy runs the delete action and empties the stack", async function () {
        const result = await stack.destroy({ onOutput: (line) => process.stdout.write(`      | ${line}`) });
        assert.equal(result.summary.result, "succeeded");
        assert.equal(result.summary.resourceChanges?.delete, 3);
        assert.equal(fs.readFileSync(marker, "utf8"), "created\ndeleted\n");
        const state = await stack.exportStack();
        assert.equal(state.deployment.resources?.length ?? 0, 0);
    });
});
