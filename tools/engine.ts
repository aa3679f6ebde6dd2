/**
 * The Pulumi engine as tests, the demo and the benchmarks run it: the CLI built by
 * `tools/toolchain.sh`, a local file backend and PULUMI_HOME in the ignored `.pulumi/` folder of
 * the project, the toolchain's `command` and `random` plugins installed there, a passphrase
 * secrets provider, no update checks and no plugin downloads.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

const run = promisify(execFile);

/** The project's root directory. */
export const projectRoot = path.resolve(__dirname, "..");

/**
 * The passphrase of the sandbox stacks' secrets. It protects nothing real: sandbox stacks hold
 * only sandbox credentials. Set `PULUMI_CONFIG_PASSPHRASE` to override it.
 */
export const sandboxPassphrase = "sandbox-only-passphrase";

let toolchainDir: Promise<string> | undefined;

/** The directory of the engine's binaries; builds them on first use (see tools/toolchain.sh). */
export function toolchain(): Promise<string> {
    toolchainDir ??= run("bash", [path.join(projectRoot, "tools", "toolchain.sh")], {
        maxBuffer: 64 * 1024 * 1024,
    }).then(({ stdout }) => stdout.trim().split("\n").pop()!);
    return toolchainDir;
}

/** Where the engine keeps state: `<project>/.pulumi/state` unless `PULUMI_MIDDLEWARE_STATE` is set. */
export function stateDir(): string {
    return process.env.PULUMI_MIDDLEWARE_STATE ?? path.join(projectRoot, ".pulumi", "state");
}

/** A resource plugin the toolchain builds and installs into PULUMI_HOME (see tools/toolchain.sh). */
export interface ToolchainPlugin {
    /** `resource`. */
    readonly kind: string;
    /** `command` or `random`. */
    readonly name: string;
    readonly version: string;
    /** The binary the toolchain built. */
    readonly built: string;
    /** Where the engine loads it from: PULUMI_HOME/plugins/KIND-NAME-vVERSION. */
    readonly installed: string;
}

/** The engine's PULUMI_HOME: `<project>/.pulumi/home`. */
export function pulumiHome(): string {
    return path.join(projectRoot, ".pulumi", "home");
}

/** The resource plugins of the toolchain: the `command` and `random` providers. */
export async function toolchainPlugins(): Promise<ToolchainPlugin[]> {
    const plugins = path.join(path.dirname(await toolchain()), "plugins");
    const versionOf = (pkg: string): string => require(`@pulumi/${pkg}/package.json`).version;
    return [
        { kind: "resource", name: "command", version: versionOf("command") },
        { kind: "resource", name: "random", version: versionOf("random") },
    ].map((p) => {
        const file = `pulumi-${p.kind}-${p.name}`;
        return { ...p, built: path.join(plugins, file), installed: path.join(pulumiHome(), "plugins", `${p.kind}-${p.name}-v${p.version}`, file) };
    });
}

/** SHA-256 of a file, hex. */
export function sha256File(file: string): string {
    return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The environment every engine command runs with. */
export async function engineEnv(): Promise<Record<string, string>> {
    const bin = await toolchain();
    const home = pulumiHome();
    fs.mkdirSync(stateDir(), { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    return {
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
        PULUMI_HOME: home,
        PULUMI_BACKEND_URL: `file://${stateDir()}`,
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? sandboxPassphrase,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "false",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        // The site program is type-checked with the whole project by `npm run typecheck` (tsc),
        // which `npm test` runs first; the engine's ts-node would check it again on every run,
        // about 5 s of CPU each. PULUMI_NODEJS_TRANSPILE_ONLY=false brings that check back.
        PULUMI_NODEJS_TRANSPILE_ONLY: process.env.PULUMI_NODEJS_TRANSPILE_ONLY ?? "true",
    };
}

/** The `pulumi` CLI of the toolchain, for the Automation API. */
export async function pulumiCommand(): Promise<PulumiCommand> {
    return PulumiCommand.get({ root: path.dirname(await toolchain()) });
}

/** Creates or selects stack `stackName` of the Pulumi program in `workDir`. */
export async function localStack(workDir: string, stackName: string): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack(
        { stackName, workDir },
        { envVars: await engineEnv(), pulumiCommand: await pulumiCommand() },
    );
}

/** The checkpoint file of a stack in the local backend, as the engine wrote it. */
export function checkpointPath(projectName: string, stackName: string): string {
    return path.join(stateDir(), ".pulumi", "stacks", projectName, `${stackName}.json`);
}

/** The engine's version, as `pulumi version` prints it. */
export async function engineVersion(): Promise<string> {
    const { stdout } = await run(path.join(await toolchain(), "pulumi"), ["version"], { env: await engineEnv() });
    return stdout.trim();
}

/**
 * Removes a stack of the local backend for good: the stack, its config file in `configDir`, and
 * what `removeStack` leaves behind (the last checkpoint's backups, the update history and the
 * backups of each update).
 */
export async function forgetStack(stack: Stack, projectName: string, stackName: string, configDir: string): Promise<void> {
    await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
    fs.rmSync(path.join(configDir, `Pulumi.${stackName}.yaml`), { force: true });
    const checkpoint = checkpointPath(projectName, stackName);
    for (const suffix of [".json.bak", ".json.bak.attrs"]) fs.rmSync(checkpoint.replace(/\.json$/, suffix), { force: true });
    const backend = path.dirname(path.dirname(path.dirname(checkpoint)));
    for (const dir of ["history", "backups"]) fs.rmSync(path.join(backend, dir, projectName, stackName), { recursive: true, force: true });
}
