import * as assert from "assert";
import * as net from "net";
import { exec, Inventory } from "../../sandbox";
import { backupPath, configFile, install, linkPath, Reversible, serviceState, waitFor } from "../../lib/core/actions";
import { sysvInitScript } from "../../lib/core/init-script";
import { DEFAULT_STATE_DIR } from "../../lib/core/script";
import { sh } from "../../lib/core/shell";
import { SshResult, SshTarget } from "../../tools/ssh";
import { ConfigError } from "../../lib/core/validate";
import { HOSTILE_FILE_NAMES } from "../support/hostile";
import { hostOf, runStepScript, sandboxUp, sshTarget, stepCommand } from "../support/hosts";
import { brief, journalMark, journalSince } from "../support/journal";
import { TreeSnapshot, treeDiff, treeSnapshot } from "../support/tree";

/*
 * The reversible actions of lib/core/actions on a real sandbox host: each body is framed by
 * renderScript and sent over SSH with the pinned host key, exactly as the Step provider does.
 * For each action: forward then inverse leaves the affected paths byte-identical (tree hash:
 * names, types, content, modes, owners, link targets), and a second forward changes nothing
 * and journals a second ok line.
 *
 * Works on h1 under /app/core-test and /etc/init.d/core-test-daemon only, with its own
 * component name, so it coexists with the suite's other tests on the legacy-redis site.
 */

const COMPONENT = "core-actions-test";
const HOST = "h1";
const DIR = "/app/core-test";
const SERVICE = "core-test-daemon";
const INIT_SCRIPT = `/etc/init.d/${SERVICE}`;
const PID_FILE = `/run/${SERVICE}.pid`;

let inv: Inventory;
let target: SshTarget;

async function onHost(cmd: string, input?: string): Promise<string> {
    const r = await exec(HOST, cmd, { input });
    if (r.code !== 0) throw new Error(`on ${HOST}: ${cmd}\nexit ${r.code}: ${r.stderr}`);
    return r.stdout;
}

async function run(step: string, direction: "forward" | "inverse", body: string, stdin?: string): Promise<SshResult> {
    return runStepScript(target, { component: COMPONENT, step, direction, body, stdin });
}

function assertOk(r: SshResult, what: string): void {
    assert.strictEqual(r.code, 0, `${what} failed with ${r.code}:\n${r.stderr}${r.stdout}`);
}

function assertSameTree(actual: TreeSnapshot, expected: TreeSnapshot, what: string): void {
    assert.deepStrictEqual(treeDiff(expected, actual), {}, `${what}: the tree differs`);
    assert.strictEqual(actual.digest, expected.digest);
}

/** Roots whose trees a round trip compares. */
const roots = (...extra: string[]) => [DIR, ...extra];

interface RoundTrip {
    readonly before: TreeSnapshot;
    readonly afterForward: TreeSnapshot;
    readonly forward: SshResult;
}

/**
 * forward, forward again, inverse: the second forward leaves the tree as the first left it,
 * the inverse brings it back to `before`, and the journal has exactly those three ok lines.
 */
async function roundTrip(step: string, action: Reversible, opts: { stdin?: string; paths?: string[]; checkForward?: (t: TreeSnapshot, before: TreeSnapshot) => void | Promise<void> } = {}): Promise<RoundTrip> {
    const paths = opts.paths ?? roots();
    const mark = await journalMark([HOST]);
    const before = await treeSnapshot(HOST, paths);
    const forward = await run(step, "forward", action.forward, opts.stdin);
    assertOk(forward, `${step} forward`);
    const afterForward = await treeSnapshot(HOST, paths);
    await opts.checkForward?.(afterForward, before);
    const again = await run(step, "forward", action.forward, opts.stdin);
    assertOk(again, `${step} forward again`);
    assertSameTree(await treeSnapshot(HOST, paths), afterForward, `${step}: a second forward is not a no-op`);
    const inverse = await run(step, "inverse", action.inverse, opts.stdin);
    assertOk(inverse, `${step} inverse`);
    assertSameTree(await treeSnapshot(HOST, paths), before, `${step}: forward then inverse`);
    assert.deepStrictEqual(brief(await journalSince(mark, COMPONENT)), [
        `${step} forward ok`, `${step} forward ok`, `${step} inverse ok`,
    ]);
    return { before, afterForward, forward };
}

async function cleanUp(): Promise<void> {
    await onHost(sh`if [ -x ${INIT_SCRIPT} ]; then ${INIT_SCRIPT} stop >/dev/null 2>&1 || :; fi
rm -f ${INIT_SCRIPT} ${PID_FILE}
rm -rf ${DIR} ${`${DEFAULT_STATE_DIR}/steps/${COMPONENT}`}
rm -f /root/pwned /pwned`);
}

describe("core actions on a real host (sandbox, over SSH)", function () {
    before(async function () {
        const started = Date.now();
        inv = await sandboxUp();
        target = sshTarget(hostOf(inv, HOST));
        await cleanUp();
        console.log(`      sandbox ready in ${Date.now() - started} ms (site ${inv.site}, ${inv.hosts.length} hosts)`);
    });

    after(async function () {
        if (inv) await cleanUp();
    });

    beforeEach(async () => {
        await onHost(sh`rm -rf ${DIR} && mkdir -m 0755 ${DIR}`);
    });

    it("the tree hash sees every change of name, content, mode, owner, type and link target", async () => {
        await onHost(sh`cd ${DIR} && printf 'a\\n' >f && chmod 0644 f && ln -s f l && mkdir d`);
        const base = await treeSnapshot(HOST, roots());
        assert.deepStrictEqual(base.entries, {
            [DIR]: "d 0755 0:0",
            [`${DIR}/d`]: "d 0755 0:0",
            [`${DIR}/f`]: "f 0644 0:0 87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7",
            [`${DIR}/l`]: "l 0777 0:0 -> f",
        });
        const changes = [
            ["content", "printf 'b\\n' >f", "printf 'a\\n' >f"],
            ["same size, other byte", "printf 'A\\n' >f", "printf 'a\\n' >f"],
            ["mode", "chmod 0640 f", "chmod 0644 f"],
            ["owner", "chown 1:0 f", "chown 0:0 f"],
            ["group", "chown 0:1 f", "chown 0:0 f"],
            ["link target", "ln -sfn d l", "ln -sfn f l"],
            ["name", "mv f g", "mv g f"],
            ["type", "rmdir d && touch d", "rm d && mkdir d"],
            ["new empty file", "touch e", "rm e"],
            ["directory mode", "chmod 0700 d", "chmod 0755 d"],
        ];
        for (const [what, change, undo] of changes) {
            await onHost(`cd ${DIR} && ${change}`);
            assert.notStrictEqual((await treeSnapshot(HOST, roots())).digest, base.digest, `a change of ${what} went unseen`);
            await onHost(`cd ${DIR} && ${undo}`);
            assertSameTree(await treeSnapshot(HOST, roots()), base, `undoing the change of ${what}`);
        }
        await onHost(`touch -d 2001-01-01 ${DIR}/f`);
        assertSameTree(await treeSnapshot(HOST, roots()), base, "times are not part of the tree");
        assert.deepStrictEqual((await treeSnapshot(HOST, [`${DIR}/nothing`])).entries, { [`${DIR}/nothing`]: "absent" });
    });

    describe("backupPath", () => {
        it("renames a tree (nested files, modes, owners, symlinks, fifo) to _bak and back byte for byte", async () => {
            await onHost(sh`set -e
cd ${DIR}
mkdir -p data/sub/deeper
printf 'secret bits\\n' >data/sub/key.pem && chmod 0600 data/sub/key.pem && chown 1234:5678 data/sub/key.pem
printf '#!/bin/sh\\necho hi\\n' >data/run.sh && chmod 4755 data/run.sh
head -c 100000 /dev/urandom >data/deeper.bin
ln -s sub/key.pem data/link && ln -s /nonexistent data/dangling
mkfifo data/fifo && chmod 0700 data/sub/deeper && chown 42:42 data/sub
printf 'neighbour\\n' >neighbour`);
            const action = backupPath({ path: `${DIR}/data` });
            const { before, afterForward, forward } = await roundTrip("backup-data", action, {
                checkForward: (t, before) => {
                    assert.strictEqual(t.entries[`${DIR}/data`], undefined, "data is gone after the backup");
                    // Everything under data_bak is what was under data, entry for entry.
                    const renamed = Object.fromEntries(Object.entries(t.entries)
                        .filter(([k]) => k.startsWith(`${DIR}/data_bak`))
                        .map(([k, v]) => [k.replace(`${DIR}/data_bak`, `${DIR}/data`), v]));
                    const original = Object.fromEntries(Object.entries(before.entries).filter(([k]) => k.startsWith(`${DIR}/data`)));
                    assert.deepStrictEqual(renamed, original);
                    assert.strictEqual(t.entries[`${DIR}/neighbour`], before.entries[`${DIR}/neighbour`]);
                },
            });
            assert.strictEqual(Object.keys(before.entries).length, 11);
            assert.notStrictEqual(afterForward.digest, before.digest);
            assert.match(forward.stdout, /middleware: backed up \/app\/core-test\/data to \/app\/core-test\/data_bak/);
        });

        it("refuses to overwrite when both the path and its backup exist: fails, changes nothing, journals failed(1)", async () => {
            await onHost(sh`mkdir ${`${DIR}/data`} ${`${DIR}/data_bak`} && echo a >${`${DIR}/data/f`} && echo b >${`${DIR}/data_bak/f`}`);
            const mark = await journalMark([HOST]);
            const before = await treeSnapshot(HOST, roots());
            const r = await run("backup-data", "forward", backupPath({ path: `${DIR}/data` }).forward);
            assert.strictEqual(r.code, 1);
            assert.match(r.stderr, /middleware: refusing to back up \/app\/core-test\/data: \/app\/core-test\/data_bak already exists/);
            assertSameTree(await treeSnapshot(HOST, roots()), before, "a refused backup");
            assert.deepStrictEqual(brief(await journalSince(mark, COMPONENT)), ["backup-data forward failed(1)"]);
        });
    });

    describe("serviceState (SysV init script of a small daemon)", () => {
        before(async () => {
            const script = sysvInitScript({
                service: SERVICE,
                description: "sleeping test daemon of the core sandbox tests",
                start: `        sh -c 'echo $$ >"$1"; exec sleep 86400' ${SERVICE} "$PIDFILE" </dev/null >/dev/null 2>&1 &`,
                pidFile: PID_FILE,
                stopTimeoutSeconds: 10,
            });
            await onHost(sh`cat >${INIT_SCRIPT} && chmod 0755 ${INIT_SCRIPT}`, script);
        });

        async function daemonPid(): Promise<string | undefined> {
            const out = await onHost(sh`service ${SERVICE} status >/dev/null 2>&1 && cat ${PID_FILE} || :`);
            return out.trim() || undefined;
        }

        const paths = () => roots(INIT_SCRIPT);

        it("starts a stopped service, leaves it running on a second forward (same pid), and stops it again", async () => {
            await onHost(sh`service ${SERVICE} stop >/dev/null`);
            const action = serviceState({ service: SERVICE, state: "running", manager: { kind: "sysv" }, settleSeconds: 10 });
            const mark = await journalMark([HOST]);
            const before = await treeSnapshot(HOST, paths());
            assertOk(await run("start-daemon", "forward", action.forward), "start");
            const firstPid = await daemonPid();
            assert.ok(firstPid, "the daemon runs after the forward action");
            const r2 = await run("start-daemon", "forward", action.forward);
            assertOk(r2, "start again");
            assert.match(r2.stdout, new RegExp(`middleware: service ${SERVICE} is running`));
            assert.strictEqual(await daemonPid(), firstPid, "a second forward must not restart the daemon");
            assertOk(await run("start-daemon", "inverse", action.inverse), "inverse");
            assert.strictEqual(await daemonPid(), undefined, "the inverse stops it again: it was stopped before");
            assertSameTree(await treeSnapshot(HOST, paths()), before, "start then inverse");
            assert.strictEqual(await onHost(sh`[ -e ${PID_FILE} ] && echo present || echo absent`), "absent\n");
            assert.deepStrictEqual(brief(await journalSince(mark, COMPONENT)), [
                "start-daemon forward ok", "start-daemon forward ok", "start-daemon inverse ok",
            ]);
        });

        it("stops a running service and starts it again on the inverse", async () => {
            await onHost(sh`service ${SERVICE} start >/dev/null`);
            const running = await daemonPid();
            assert.ok(running);
            const action = serviceState({ service: SERVICE, state: "stopped", manager: { kind: "sysv" }, settleSeconds: 10 });
            await roundTrip("stop-daemon", action, {
                paths: paths(),
                checkForward: async () => assert.strictEqual(await daemonPid(), undefined, "stopped after the forward action"),
            });
            const again = await daemonPid();
            assert.ok(again, "running again after the inverse");
            await onHost(sh`service ${SERVICE} stop >/dev/null`);
        });
    });

    describe("configFile", () => {
        const secret = `s3cr3t-${Math.random().toString(36).slice(2)}-P@ss'"$(id)`;
        const content = `# written by the core sandbox test\nrequirepass ${secret}\n`;

        it("replaces a file with content from stdin, keeps its mode and owner, and restores the original exactly", async () => {
            await onHost(sh`printf 'original\\nline two\\n' >${`${DIR}/app.conf`} && chmod 0640 ${`${DIR}/app.conf`} && chown 1234:5678 ${`${DIR}/app.conf`}`);
            const action = configFile({ path: `${DIR}/app.conf` });
            const { forward } = await roundTrip("write-app-conf", action, {
                stdin: content,
                checkForward: async (t) => {
                    assert.match(t.entries[`${DIR}/app.conf`], /^f 0640 1234:5678 [0-9a-f]{64}$/);
                    assert.strictEqual(await onHost(sh`cat ${`${DIR}/app.conf`}`), content);
                },
            });
            assert.ok(!forward.stdout.includes(secret) && !forward.stderr.includes(secret), "the content is not echoed");
        });

        it("keeps the content out of the script, the command line, the journal, logs and the state dir", async () => {
            const action = configFile({ path: `${DIR}/app.conf`, mode: "0600" });
            for (const direction of ["forward", "inverse"] as const) {
                const command = stepCommand({ component: COMPONENT, step: "write-app-conf", direction, body: action[direction] });
                assert.ok(!command.includes(secret) && !command.includes("requirepass"), `the ${direction} command holds the content`);
            }
            const mark = await journalMark([HOST]);
            assertOk(await run("write-app-conf", "forward", action.forward, content), "write");
            // Nowhere on the host but in the file itself: not in logs, the state dir or /tmp.
            const found = await exec(HOST, sh`grep -rlF -f - /var/log ${DEFAULT_STATE_DIR} /tmp ${DIR}`, { input: `${secret}\n` });
            assert.strictEqual(found.stdout, `${DIR}/app.conf\n`);
            assertOk(await run("write-app-conf", "inverse", action.inverse, content), "undo");
            const journal = await onHost(`cat ${DEFAULT_STATE_DIR}/journal`);
            assert.ok(!journal.includes(secret), "the journal holds the content");
            assert.strictEqual((await journalSince(mark, COMPONENT)).length, 2);
        });

        it("creates a file that did not exist (0644, or the given mode and owner) and removes it on the inverse", async () => {
            await roundTrip("write-new-conf", configFile({ path: `${DIR}/new.conf` }), {
                stdin: content,
                checkForward: (t) => assert.match(t.entries[`${DIR}/new.conf`], /^f 0644 0:0 /),
            });
            await roundTrip("write-new-conf-owned", configFile({ path: `${DIR}/owned.conf`, mode: "0600", owner: "4321:8765" }), {
                stdin: content,
                checkForward: (t) => assert.match(t.entries[`${DIR}/owned.conf`], /^f 0600 4321:8765 /),
            });
        });
    });

    describe("install (operator commands)", () => {
        const pkg = `${DIR}/pkg`;
        const action = install({
            id: "core-test-pkg",
            check: sh`[ -x ${`${pkg}/bin/tool`} ]`,
            install: sh`mkdir -p ${`${pkg}/bin`} && printf '#!/bin/sh\\necho tool\\n' >${`${pkg}/bin/tool`} && chmod 0755 ${`${pkg}/bin/tool`} && echo installed >>${`${DIR}/install-runs`}`,
            uninstall: sh`rm -rf ${pkg}`,
        });

        it("installs when the check fails, does not run the installer again, and uninstalls what it installed", async () => {
            await onHost(sh`echo >${`${DIR}/install-runs`}`);
            await roundTrip("install-tool", action, {
                // install-runs is the installer's own log: it would change if the installer ran twice.
                paths: [pkg],
                checkForward: (t) => assert.match(t.entries[`${pkg}/bin/tool`], /^f 0755 0:0 /),
            });
            assert.strictEqual(await onHost(sh`cat ${`${DIR}/install-runs`}`), "\ninstalled\n", "the installer ran exactly once");
        });

        it("leaves alone what was installed before the step, on forward and on inverse", async () => {
            await onHost(sh`mkdir -p ${`${pkg}/bin`} && printf 'preinstalled\\n' >${`${pkg}/bin/tool`} && chmod 0755 ${`${pkg}/bin/tool`}`);
            const { before, afterForward, forward } = await roundTrip("install-tool", action);
            assertSameTree(afterForward, before, "forward on an installed tool");
            assert.match(forward.stdout, /core-test-pkg was already installed; it is left alone/);
        });
    });

    describe("linkPath", () => {
        it("creates the link, keeps it on a second forward, and removes only that link", async () => {
            await onHost(sh`mkdir ${`${DIR}/v1`} && echo conf >${`${DIR}/v1/conf`}`);
            await roundTrip("link-current", linkPath({ path: `${DIR}/current`, target: `${DIR}/v1` }), {
                checkForward: (t) => assert.match(t.entries[`${DIR}/current`], /^l \S+ 0:0 -> \/app\/core-test\/v1$/),
            });
        });

        it("refuses a path taken by something else, and an inverse leaves a foreign link alone", async () => {
            await onHost(sh`echo mine >${`${DIR}/current`} && ln -s /elsewhere ${`${DIR}/other`}`);
            const before = await treeSnapshot(HOST, roots());
            const r = await run("link-current", "forward", linkPath({ path: `${DIR}/current`, target: `${DIR}/v1` }).forward);
            assert.strictEqual(r.code, 1);
            assert.match(r.stderr, /middleware: cannot link \/app\/core-test\/current: something else is there/);
            const inv2 = await run("link-other", "inverse", linkPath({ path: `${DIR}/other`, target: `${DIR}/v1` }).inverse);
            assert.strictEqual(inv2.code, 1);
            assert.match(inv2.stderr, /will not remove \/app\/core-test\/other: it is not the link to \/app\/core-test\/v1/);
            assertSameTree(await treeSnapshot(HOST, roots()), before, "refused link actions");
        });
    });

    describe("waitFor", () => {
        function freePort(address: string): Promise<number> {
            return new Promise((resolve, reject) => {
                const srv = net.createServer();
                srv.on("error", reject);
                srv.listen(0, address, () => {
                    const port = (srv.address() as net.AddressInfo).port;
                    srv.close(() => resolve(port));
                });
            });
        }

        it("waits for a port that opens two seconds later, then passes at once on a second forward", async () => {
            const address = inv.bridgeAddress;
            const port = await freePort(address);
            const server = net.createServer((s) => s.end());
            const opening = setTimeout(() => server.listen(port, address), 2000);
            try {
                const action = waitFor({ host: address, port, timeoutSeconds: 30, intervalSeconds: 1 });
                const started = Date.now();
                const { forward } = await roundTrip("wait-port", action);
                const waited = Date.now() - started;
                assert.ok(waited >= 2000, `returned after ${waited} ms, before the port opened`);
                assert.match(forward.stdout, new RegExp(`middleware: ready: TCP ${address}:${port} to accept connections`));
                console.log(`      waited ${waited} ms for the port (opened after 2000 ms)`);
            } finally {
                clearTimeout(opening);
                server.close();
            }
        });

        it("gives up after the timeout with a message naming what it waited for", async () => {
            const address = inv.bridgeAddress;
            const port = await freePort(address);
            const mark = await journalMark([HOST]);
            const started = Date.now();
            const r = await run("wait-closed", "forward", waitFor({ host: address, port, timeoutSeconds: 2, intervalSeconds: 1 }).forward);
            const took = Date.now() - started;
            assert.strictEqual(r.code, 1);
            assert.deepStrictEqual(r.stderr.trim().split("\n"), [
                `middleware: gave up after 2 s waiting for TCP ${address}:${port} to accept connections`,
                `middleware: ${COMPONENT}/wait-closed: forward action failed with exit code 1`,
            ]);
            // The deadline is kept in whole seconds of `date +%s`, so it falls up to 1 s early.
            assert.ok(took >= 1000 && took < 15_000, `took ${took} ms`);
            console.log(`      gave up after ${took} ms (timeoutSeconds 2)`);
            assert.deepStrictEqual(brief(await journalSince(mark, COMPONENT)), ["wait-closed forward failed(1)"]);
        });
    });

    describe("hostile file names", () => {
        const hostileDir = `${DIR}/hostile`;
        const name = "t@+x.y_z-1";
        const decoys = [...HOSTILE_FILE_NAMES, `${name} `, `${name}\n`, `${name}*`, ` ${name}`, `${name}_bak `, `${name}.`];

        it("are rejected by backupPath and configFile before any script exists, naming the key", () => {
            for (const n of HOSTILE_FILE_NAMES) {
                const path = `${hostileDir}/${n}`;
                assert.throws(() => backupPath({ path }), (e: unknown) => e instanceof ConfigError && /backupPath\.path/.test(e.message), JSON.stringify(n));
                assert.throws(() => configFile({ path }), (e: unknown) => e instanceof ConfigError && /configFile\.path/.test(e.message), JSON.stringify(n));
            }
        });

        it("reach the host byte for byte through the framed script and SSH (created as decoys, nothing else runs)", async () => {
            await onHost(sh`mkdir ${hostileDir}`);
            const body = decoys.map((n, i) => sh`printf '%s' ${`decoy ${i}`} >${`${hostileDir}/${n}`}`).join("\n");
            assertOk(await run("make-decoys", "forward", body), "making decoys");
            const t = await treeSnapshot(HOST, [hostileDir]);
            const names = Object.keys(t.entries).filter((k) => k !== hostileDir).map((k) => k.slice(hostileDir.length + 1)).sort();
            assert.deepStrictEqual(names, [...decoys].sort());
            assert.strictEqual(await onHost("ls /root/pwned /pwned 2>/dev/null | wc -l"), "0\n", "an embedded command ran");
        });

        it("backupPath and configFile act on exactly the named entry among look-alike hostile neighbours", async () => {
            await onHost(sh`mkdir ${hostileDir}`);
            const body = decoys.map((n, i) => sh`printf '%s' ${`decoy ${i}`} >${`${hostileDir}/${n}`}`).join("\n");
            assertOk(await run("make-decoys", "forward", body), "making decoys");
            await onHost(sh`mkdir ${`${hostileDir}/${name}`} && echo inside >${`${hostileDir}/${name}/f`} && echo conf >${`${hostileDir}/${name}.conf`}`);
            const target = `${hostileDir}/${name}`;

            const before = await treeSnapshot(HOST, [hostileDir]);
            const backup = backupPath({ path: target });
            assertOk(await run("backup-hostile", "forward", backup.forward), "backup");
            const diff = treeDiff(before, await treeSnapshot(HOST, [hostileDir]));
            assert.deepStrictEqual(Object.keys(diff).sort(), [target, `${target}/f`, `${target}_bak`, `${target}_bak/f`].sort());
            assertOk(await run("backup-hostile", "inverse", backup.inverse), "restore");
            assertSameTree(await treeSnapshot(HOST, [hostileDir]), before, "backup then restore among decoys");

            const conf = configFile({ path: `${target}.conf` });
            assertOk(await run("conf-hostile", "forward", conf.forward, "new content\n"), "write");
            const diff2 = treeDiff(before, await treeSnapshot(HOST, [hostileDir]));
            assert.deepStrictEqual(Object.keys(diff2), [`${target}.conf`], "only the named file changed");
            assertOk(await run("conf-hostile", "inverse", conf.inverse), "restore conf");
            assertSameTree(await treeSnapshot(HOST, [hostileDir]), before, "write then restore among decoys");
        });
    });
});
