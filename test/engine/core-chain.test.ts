import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Stack } from "@pulumi/pulumi/automation";
import { checkpointPath, localStack } from "../../tools/engine";
import { exec, fault, Inventory } from "../../sandbox";
import { settingsFromEnv, statePaths } from "../../sandbox/config";
import { sh } from "../../lib/core/shell";
import { DEFAULT_STATE_DIR } from "../../lib/core/script";
import { sandboxUp } from "../support/hosts";
import { brief, JournalLine, journalMark, journalSince } from "../support/journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "../support/tree";

/*
 * The core's promise through a real engine: a chain of four Steps over two sandbox hosts
 * (h1 backup a -> h2 write b.conf -> h1 backup c -> h2 link d), driven with real
 * `pulumi up` / `destroy` through the Automation API. A full disk on h2 fails the middle step;
 * the state then holds exactly the completed steps, a second `up` resumes, `destroy` runs the
 * inverses in exact reverse order (proved from the hosts' journals, merged by time), and the
 * hosts end byte-identical to how they started (tree hash).
 */

const program = path.join(__dirname, "fixtures", "chain");
const projectName = "core-chain";
const stackName = `core-chain-${process.pid}`;
const COMPONENT = "core-chain";
const DIR = "/app/core-chain";
const HOSTS = ["h1", "h2"] as const;
const CONTENT = `# b.conf of the core chain test\nmasterauth chain-${Math.random().toString(36).slice(2)}\n`;
const STEP_TYPE = "command:remote:Command";
/** The chain's changing steps in forward order, with their hosts. */
const CHAIN = ["h1 backup-a", "h2 config-b", "h1 backup-c", "h2 link-d"];

let inv: Inventory;
let stack: Stack | undefined;
let start: Record<string, TreeSnapshot>;
const figures: string[] = [];

async function onHost(host: string, cmd: string): Promise<void> {
    const r = await exec(host, cmd);
    if (r.code !== 0) throw new Error(`on ${host}: ${cmd}\nexit ${r.code}: ${r.stderr}`);
}

async function trees(): Promise<Record<string, TreeSnapshot>> {
    const out: Record<string, TreeSnapshot> = {};
    for (const h of HOSTS) out[h] = await treeSnapshot(h, [DIR]);
    return out;
}

function assertHostsAsAtStart(now: Record<string, TreeSnapshot>, what: string): void {
    for (const h of HOSTS) {
        assert.deepEqual(treeDiff(start[h], now[h]), {}, `${what}: ${h} differs from the start`);
        assert.equal(now[h].digest, start[h].digest);
    }
}

/** Runs an engine operation, timing it; the figures are printed after the suite. */
async function timed<T>(what: string, op: () => Promise<T>): Promise<{ result?: T; error?: Error; ms: number }> {
    const started = Date.now();
    try {
        const result = await op();
        const ms = Date.now() - started;
        figures.push(`${what}: ${ms} ms`);
        console.log(`      ${what}: ${ms} ms`);
        return { result, ms };
    } catch (e) {
        const ms = Date.now() - started;
        figures.push(`${what} (failed): ${ms} ms`);
        console.log(`      ${what} (failed): ${ms} ms`);
        return { error: e as Error, ms };
    }
}

/** The Step resources in the stack's state, as `host/step` from their names. */
async function stepsInState(): Promise<string[]> {
    const state = await stack!.exportStack();
    return (state.deployment.resources ?? [])
        .filter((r: { type: string }) => r.type === STEP_TYPE)
        .map((r: { urn: string }) => r.urn.split("::").pop()!.replace(`${COMPONENT}-`, "").replace("-", "/"))
        .sort();
}

/** Journal lines without the readiness polls, as `host step direction outcome`. */
function changes(lines: readonly JournalLine[]): string[] {
    return brief(lines.filter((l) => l.step !== "ready"), true);
}

async function layOut(): Promise<void> {
    for (const h of HOSTS) {
        await onHost(h, sh`rm -rf ${DIR} ${`${DEFAULT_STATE_DIR}/steps/${COMPONENT}`} && mkdir -m 0755 ${DIR}`);
    }
    await onHost("h1", sh`set -e
cd ${DIR}
mkdir -m 0750 a a/sub
printf 'x\\n' >a/x && chmod 0600 a/x && chown 1000:1000 a/x
head -c 50000 /dev/urandom >a/sub/y
ln -s x a/link
printf 'c\\n' >c && chmod 0640 c && chown 0:42 c`);
    await onHost("h2", sh`printf 'neighbour\\n' >${`${DIR}/keep`}`);
}

describe("core chain through the engine (real pulumi up / destroy on two sandbox hosts)", function () {
    before(async function () {
        inv = await sandboxUp();
        for (const h of HOSTS) await fault(h, "free-disk");
        await layOut();
        start = await trees();
        stack = await localStack(program, stackName);
        await stack.setConfig("inventoryFile", { value: statePaths(settingsFromEnv()).inventoryFile });
        await stack.setConfig("testDir", { value: DIR });
        await stack.setConfig("component", { value: COMPONENT });
        await stack.setConfig("configContent", { value: CONTENT, secret: true });
        console.log(`      sandbox site ${inv.site}; stack ${stackName}`);
    });

    after(async function () {
        for (const h of HOSTS) await fault(h, "free-disk").catch(() => undefined);
        if (stack) {
            if ((await stepsInState().catch(() => [])).length) await stack.destroy().catch(() => undefined);
            await stack.workspace.removeStack(stackName, { force: true }).catch(() => undefined);
            fs.rmSync(path.join(program, `Pulumi.${stackName}.yaml`), { force: true });
            // removeStack leaves the last checkpoint's backups behind.
            for (const suffix of [".json.bak", ".json.bak.attrs"]) fs.rmSync(checkpointPath(projectName, stackName).replace(/\.json$/, suffix), { force: true });
        }
        for (const h of HOSTS) await onHost(h, sh`rm -rf ${DIR} ${`${DEFAULT_STATE_DIR}/steps/${COMPONENT}`}`).catch(() => undefined);
        if (figures.length) console.log(`      figures:\n${figures.map((f) => `        ${f}`).join("\n")}`);
    });

    describe("a middle step that fails, then a resumed up, then destroy", () => {
        let mark: Record<string, number>;

        it("up fails at the middle step (h2 disk full) with its error; the state holds exactly the completed steps", async () => {
            mark = await journalMark(HOSTS);
            await fault("h2", "fill-disk");
            let error: Error | undefined;
            try {
                ({ error } = await timed("up with h2's disk full", () => stack!.up()));
            } finally {
                await fault("h2", "free-disk");
            }
            assert.ok(error, "up must fail");
            const diagnostic = [...new Set(error.message.split("\n").map((l) => l.trim())
                .filter((l) => /^(error: core-chain|cat:|middleware:|its inverse)/.test(l)))];
            console.log(`      the engine reported:\n${diagnostic.map((l) => `        | ${l}`).join("\n")}`);
            assert.match(error.message, /core-chain\/config-b on h2: forward action failed with exit code 1/);
            assert.match(error.message, /No space left on device/, "the host's stderr is in the error");
            assert.match(error.message, /middleware: could not write \/app\/core-chain\/b\.conf/);
            assert.match(error.message, /its inverse ran and undid what it had done/);
            assert.deepEqual(await stepsInState(), ["h1/backup-a", "h1/ready", "h2/ready"]);
            assert.deepEqual(changes(await journalSince(mark, COMPONENT)), [
                "h1 backup-a forward ok",
                "h2 config-b forward failed(1)",
                "h2 config-b inverse ok",
            ]);
            const now = await trees();
            assert.deepEqual(treeDiff(start.h2, now.h2), {}, "the failed step left nothing behind on h2");
            assert.deepEqual(Object.keys(treeDiff(start.h1, now.h1)).filter((k) => !k.startsWith(`${DIR}/a`)), [], "h1: only a moved");
        });

        it("a second up resumes: it creates only the remaining steps and completes the chain", async () => {
            const since = await journalMark(HOSTS);
            const { result, error } = await timed("up resuming", () => stack!.up());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.equal(result!.summary.resourceChanges?.create, 3, JSON.stringify(result!.summary.resourceChanges));
            assert.deepEqual(await stepsInState(), ["h1/backup-a", "h1/backup-c", "h1/ready", "h2/config-b", "h2/link-d", "h2/ready"]);
            assert.deepEqual(changes(await journalSince(since, COMPONENT)), [
                "h2 config-b forward ok", "h1 backup-c forward ok", "h2 link-d forward ok",
            ]);
            const now = await trees();
            assert.match(now.h2.entries[`${DIR}/b.conf`], /^f 0640 0:0 /);
            assert.equal(now.h2.entries[`${DIR}/d`], `l 0777 0:0 -> ${DIR}/b.conf`);
            assert.equal(now.h1.entries[`${DIR}/c`], undefined);
            assert.equal(now.h1.entries[`${DIR}/c_bak`], start.h1.entries[`${DIR}/c`]);
            const r = await exec("h2", `cat ${DIR}/d`);
            assert.equal(r.stdout, CONTENT, "b.conf holds the secret content, reached through the link");
        });

        it("the state file holds neither the private key nor the secret content in clear", async () => {
            const checkpoint = fs.readFileSync(checkpointPath(projectName, stackName), "utf8");
            const key = fs.readFileSync(inv.hosts[0].privateKeyPath, "utf8");
            const keyLines = key.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("-----"));
            assert.ok(keyLines.length >= 3);
            for (const line of keyLines) assert.ok(!checkpoint.includes(line), `a line of the private key is in the state: ${line.slice(0, 12)}...`);
            for (const line of CONTENT.split("\n").filter((l) => l)) assert.ok(!checkpoint.includes(line), `the content is in the state: ${line}`);
            const resources = JSON.parse(checkpoint).checkpoint.latest.resources as { type: string; urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[];
            const steps = resources.filter((r) => r.type === STEP_TYPE);
            assert.equal(steps.length, 6);
            for (const r of steps) {
                for (const [where, props] of [["inputs", r.inputs], ["outputs", r.outputs]] as const) {
                    assert.ok((props.connection as { ciphertext?: string }).ciphertext, `${r.urn}: ${where}.connection must be ciphertext`);
                }
            }
            const configB = steps.find((r) => r.urn.endsWith("core-chain-h2-config-b"))!;
            assert.ok((configB.outputs.stdin as { ciphertext?: string }).ciphertext, "the secret stdin must be ciphertext");
        });

        it("destroy runs the inverses in exact reverse order (journals of both hosts) and the hosts end as they started", async () => {
            const since = await journalMark(HOSTS);
            const { result, error } = await timed("destroy", () => stack!.destroy());
            assert.ifError(error);
            assert.equal(result!.summary.result, "succeeded");
            assert.deepEqual(await stepsInState(), []);
            const inverses = (await journalSince(since, COMPONENT)).filter((l) => l.step !== "ready");
            assert.ok(inverses.every((l) => l.direction === "inverse" && l.outcome === "ok"), changes(inverses).join("\n"));
            assert.deepEqual(inverses.map((l) => `${l.host} ${l.step}`), [...CHAIN].reverse());
            // The whole story, merged by time: the forward actions that completed, then exactly their inverses reversed.
            const story = (await journalSince(mark, COMPONENT)).filter((l) => l.step !== "ready" && l.outcome === "ok");
            const done = story.filter((l) => l.direction === "forward").map((l) => `${l.host} ${l.step}`);
            assert.deepEqual(done, CHAIN);
            assert.deepEqual(story.slice(-CHAIN.length).map((l) => `${l.host} ${l.step} ${l.direction}`), [...CHAIN].reverse().map((s) => `${s} inverse`));
            assertHostsAsAtStart(await trees(), "after destroy");
        });
    });

    describe("a partly failed up, then destroy", () => {
        it("undoes only what was done: the journal shows inverses of the completed steps only; the hosts are back", async () => {
            const mark = await journalMark(HOSTS);
            await fault("h2", "fill-disk");
            try {
                const { error } = await timed("up with h2's disk full (2)", () => stack!.up());
                assert.ok(error, "up must fail");
                assert.match(error.message, /core-chain\/config-b on h2: forward action failed/);
                assert.deepEqual(await stepsInState(), ["h1/backup-a", "h1/ready", "h2/ready"]);
                // h2's disk stays full: destroy has nothing to do there.
                const { result, error: destroyError } = await timed("destroy after the partial up", () => stack!.destroy());
                assert.ifError(destroyError);
                assert.equal(result!.summary.result, "succeeded");
            } finally {
                await fault("h2", "free-disk");
            }
            assert.deepEqual(await stepsInState(), []);
            assert.deepEqual(changes(await journalSince(mark, COMPONENT)), [
                "h1 backup-a forward ok",
                "h2 config-b forward failed(1)",
                "h2 config-b inverse ok",
                "h1 backup-a inverse ok",
            ]);
            assertHostsAsAtStart(await trees(), "after the partial up and destroy");
        });
    });
});
