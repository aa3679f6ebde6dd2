/**
 * Change approval for a site stack: `approve` previews the change under the policy pack, saves
 * Pulumi's update plan and writes the change report beside it with what the approval is bound to;
 * `apply` carries out an approved plan with `pulumi up --plan` (the pack applied again) after
 * checking that nothing it is bound to changed.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { CHANGE_PLAN_OUTPUT, parseChangePlan } from "../lib/approval/change-plan";
import { changeReport, Fingerprints, foldOperation, Operation } from "../lib/approval/report";
import { engineEnv, projectRoot, pulumiCommand } from "./engine";

/** The project's policy pack (policy/), applied to every approval and apply. */
export const POLICY_PACK = path.join(projectRoot, "policy");

/** Where approvals are written: `approvals/<stack>/<time>/` in the project (ignored by git). */
export const APPROVALS_DIR = path.join(projectRoot, "approvals");

/** What `approve` records beside the plan (`approval.json`), and `apply` checks. */
export interface ApprovalRecord {
    readonly stack: string;
    readonly previewedAt: string;
    readonly planSha256: string;
    readonly fingerprints: Fingerprints;
}

/** Directories of the program whose sources the approval is bound to, relative to the project. */
const PROGRAM_DIRS = ["lib", "stacks"];
/** Files of the project the approval is bound to. */
const PROGRAM_FILES = ["Pulumi.yaml", "package.json", "package-lock.json"];

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** The SHA-256 of a file, hex. */
export function fileSha256(file: string): string {
    return sha256(fs.readFileSync(file));
}

function programFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return programFiles(p);
        return /\.(ts|js|json)$/.test(e.name) ? [p] : [];
    });
}

/** Digest of named files: each one's path relative to the project, its size and content. */
function digestFiles(files: readonly string[]): string {
    const h = createHash("sha256");
    for (const f of [...files].sort()) {
        const content = fs.existsSync(f) ? fs.readFileSync(f) : Buffer.from("(missing)");
        h.update(`${path.relative(projectRoot, f)}\0${content.length}\0`).update(content);
    }
    return h.digest("hex");
}

/** The stack's config file in the project's `stackConfigDir`. */
export function stackConfigFile(stack: string): string {
    return path.join(projectRoot, "stacks", `Pulumi.${stack}.yaml`);
}

/** The fingerprints of a stack now. */
export async function fingerprints(stack: Stack): Promise<Fingerprints> {
    const program = digestFiles([...PROGRAM_FILES.map((f) => path.join(projectRoot, f)), ...PROGRAM_DIRS.flatMap((d) => programFiles(path.join(projectRoot, d)))]);
    const inventory = await stack.getConfig("middleware:inventoryFile").then((v) => v.value).catch(() => undefined);
    const config = digestFiles([stackConfigFile(stack.name), ...(inventory ? [inventory] : [])]);
    const deployment = await stack.exportStack();
    const state = sha256(JSON.stringify(deployment.deployment?.resources ?? []));
    return { program, config, state };
}

/** A path as the report shows it: relative to the project when inside it, else absolute. */
function shown(file: string): string {
    const relative = path.relative(projectRoot, file);
    return relative.startsWith("..") ? path.resolve(file) : relative;
}

/** Selects an existing stack of the site program with the project's engine. */
export async function selectSite(stackName: string): Promise<Stack> {
    if (!/^[A-Za-z0-9_.-]+$/.test(stackName)) throw new Error(`--stack ${JSON.stringify(stackName)}: not a stack name`);
    return LocalWorkspace.selectStack({ stackName, workDir: projectRoot }, { envVars: await engineEnv(), pulumiCommand: await pulumiCommand() });
}

const IGNORED_TYPES = /^pulumi:(pulumi:Stack|providers:)/;

/** What a preview said: the operation per resource, and the stack outputs it computed. */
interface PreviewRecord {
    readonly operations: Map<string, Operation>;
    outputs: Record<string, unknown>;
}

function recordEvent(rec: PreviewRecord, e: EngineEvent): void {
    const pre = e.resourcePreEvent?.metadata;
    if (pre && !IGNORED_TYPES.test(pre.type)) {
        const name = pre.urn.split("::").pop()!;
        rec.operations.set(name, foldOperation(rec.operations.get(name), pre.op));
    }
    const out = e.resOutputsEvent?.metadata;
    if (out?.type === "pulumi:pulumi:Stack" && out.new?.outputs) rec.outputs = out.new.outputs;
}

/** Options of {@link approve}. */
export interface ApproveOptions {
    /** @default - `approvals/<stack>/<time>` under the project */
    readonly dir?: string;
    /** Engine output (the preview's progress). @default - discarded */
    readonly onOutput?: (text: string) => void;
}

/** What {@link approve} wrote. */
export interface Approval {
    readonly dir: string;
    readonly planFile: string;
    readonly reportFile: string;
    readonly record: ApprovalRecord;
    readonly report: string;
}

/** Previews the stack's change, saves the update plan, and writes the report and the record beside it. */
export async function approve(stackName: string, opts: ApproveOptions = {}): Promise<Approval> {
    const stack = await selectSite(stackName);
    const before = await fingerprints(stack);
    const deployedOutputs = await stack.outputs();
    const previewedAt = new Date().toISOString();
    const dir = opts.dir ?? path.join(APPROVALS_DIR, stackName, previewedAt.replace(/[:.]/g, "-"));
    fs.mkdirSync(dir, { recursive: true });
    const planFile = path.join(dir, "plan.json");
    const rec: PreviewRecord = { operations: new Map(), outputs: {} };
    await stack.preview({ plan: planFile, policyPacks: [POLICY_PACK], onEvent: (e) => recordEvent(rec, e), onOutput: opts.onOutput });
    const after = await fingerprints(stack);
    for (const k of Object.keys(before) as (keyof Fingerprints)[]) {
        if (before[k] !== after[k]) throw new Error(`the ${k} of stack ${stackName} changed while it was previewed; approve again`);
    }
    const record: ApprovalRecord = { stack: stackName, previewedAt, planSha256: fileSha256(planFile), fingerprints: after };
    const report = changeReport({
        stack: stackName,
        previewedAt,
        planFile: shown(planFile),
        planSha256: record.planSha256,
        fingerprints: after,
        operations: rec.operations,
        planned: parseChangePlan(rec.outputs[CHANGE_PLAN_OUTPUT]),
        deployed: parseChangePlan(deployedOutputs[CHANGE_PLAN_OUTPUT]?.value),
        applyCommand: `npm run apply -- --stack ${stackName} --plan ${shown(planFile)}`,
    });
    const reportFile = path.join(dir, "report.md");
    fs.writeFileSync(path.join(dir, "approval.json"), JSON.stringify(record, null, 2) + "\n");
    fs.writeFileSync(reportFile, report);
    return { dir, planFile, reportFile, record, report };
}

/** An approval that no longer holds; nothing was run. */
export class ApprovalRefused extends Error {}

/** Why the approval of `planFile` no longer holds for the stack, or nothing when it holds. */
export async function approvalProblems(stack: Stack, planFile: string): Promise<string[]> {
    const recordFile = path.join(path.dirname(planFile), "approval.json");
    if (!fs.existsSync(planFile)) return [`plan file ${planFile} does not exist`];
    if (!fs.existsSync(recordFile)) return [`${recordFile} is missing: approve with npm run approve -- --stack ${stack.name}`];
    const record = JSON.parse(fs.readFileSync(recordFile, "utf8")) as ApprovalRecord;
    const problems: string[] = [];
    if (record.stack !== stack.name) problems.push(`the plan was approved for stack ${record.stack}, not ${stack.name}`);
    const planSha = fileSha256(planFile);
    if (planSha !== record.planSha256) problems.push(`the plan file changed since approval (SHA-256 ${record.planSha256} approved, ${planSha} now)`);
    const now = await fingerprints(stack);
    const what: Record<keyof Fingerprints, string> = {
        program: "the program (lib/, stacks/*.ts, Pulumi.yaml, package files)",
        config: `the config (${path.relative(projectRoot, stackConfigFile(stack.name))} or the inventory it names)`,
        state: "the deployed state (an update or destroy ran)",
    };
    for (const k of Object.keys(what) as (keyof Fingerprints)[]) {
        if (now[k] !== record.fingerprints[k]) problems.push(`${what[k]} changed since approval (SHA-256 ${record.fingerprints[k]} approved, ${now[k]} now)`);
    }
    return problems;
}

/**
 * Carries out an approved plan: refuses, running nothing, when the approval no longer holds;
 * else `pulumi up --plan`, which refuses any operation beyond the plan.
 *
 * @throws ApprovalRefused naming everything that changed since approval
 */
export async function apply(stackName: string, planFile: string, onOutput?: (text: string) => void) {
    const stack = await selectSite(stackName);
    const problems = await approvalProblems(stack, path.resolve(planFile));
    if (problems.length) {
        throw new ApprovalRefused(`refused to apply ${planFile} to stack ${stackName}; nothing was run:\n${problems.map((p) => `  - ${p}`).join("\n")}\napprove the change again: npm run approve -- --stack ${stackName}`);
    }
    // Update plans are experimental in Pulumi 3.x: `up --plan` needs PULUMI_EXPERIMENTAL.
    stack.workspace.envVars.PULUMI_EXPERIMENTAL = "true";
    return stack.up({ plan: path.resolve(planFile), policyPacks: [POLICY_PACK], onOutput });
}
