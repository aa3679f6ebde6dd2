import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { moveFiles, roomForMove } from "../../../lib/fastdfs/move-files";

/*
 * The stored files' move with dash, across two real file systems (/tmp and the /dev/shm tmpfs)
 * and within one: from every state a crash of the copy path can leave, a run again ends with the
 * files whole at the destination and nothing else.
 */

const PREAMBLE = `set -eu
mw_exists() { [ -e "$1" ] || [ -L "$1" ]; }
mw_die() { printf 'middleware: %s\\n' "$*" >&2; exit 1; }
mw_mark() { echo "middleware: $*"; }
`;

function run(body: string, stateDir: string): { code: number; out: string } {
    const r = spawnSync("dash", ["-c", PREAMBLE + body], { encoding: "utf8", env: { ...process.env, MW_STATE_DIR: stateDir, MW_COMPONENT: "c", MW_STEP: "s", MW_DIRECTION: "forward" } });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function seed(dir: string, n = 3): void {
    fs.mkdirSync(path.join(dir, "00", "01"), { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, "00", "01", `f${i}`), `file ${i}\n`);
}

function listing(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("FastDFS stored files' move", function () {
    let a: string;
    let b: string;
    let state: string;
    beforeEach(function () {
        a = fs.mkdtempSync(path.join(os.tmpdir(), "mw-move-a-"));
        b = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "mw-move-b-"));
        state = fs.mkdtempSync(path.join(os.tmpdir(), "mw-move-state-"));
    });
    afterEach(function () {
        for (const d of [a, b, state]) fs.rmSync(d, { recursive: true, force: true });
    });

    const cases: [string, (from: string, to: string) => void][] = [
        ["nothing done yet", () => undefined],
        ["a partial copy beside the source", (_from, to) => {
            fs.mkdirSync(`${to}.mw/00`, { recursive: true });
            fs.writeFileSync(`${to}.mw/00/part`, "x");
        }],
        ["the source renamed to .gone, the copy whole in .mw", (from, to) => {
            fs.cpSync(from, `${to}.mw`, { recursive: true });
            fs.renameSync(from, `${from}.gone`);
        }],
        ["the copy in place, the source partly removed", (from, to) => {
            fs.cpSync(from, to, { recursive: true });
            fs.renameSync(from, `${from}.gone`);
            fs.rmSync(`${from}.gone/00/01/f0`);
        }],
    ];
    for (const [what, crashState] of cases) {
        it(`across file systems, from "${what}": the files whole at the destination, nothing else left`, function () {
            const from = path.join(a, "data");
            const to = path.join(b, "data");
            seed(from);
            const expected = listing(from);
            crashState(from, to);
            const r = run(moveFiles(from, to, "files"), state);
            assert.equal(r.code, 0, r.out);
            assert.deepEqual(listing(to), expected);
            assert.deepEqual(fs.readdirSync(a), [], "nothing left at the source");
            assert.deepEqual(fs.readdirSync(b), ["data"], "no .mw left");
            assert.equal(fs.readFileSync(path.join(to, "00/01/f2"), "utf8"), "file 2\n");
        });
    }

    it("within one file system: a rename; run again: nothing to do", function () {
        const from = path.join(a, "data");
        const to = path.join(a, "moved");
        seed(from);
        const ino = fs.statSync(path.join(from, "00/01/f1")).ino;
        assert.equal(run(moveFiles(from, to, "files"), state).code, 0);
        assert.match(run(moveFiles(from, to, "files"), state).out, /^$/);
        assert.equal(fs.statSync(path.join(to, "00/01/f1")).ino, ino, "renamed, not copied");
    });

    it("refuses when both the source and the destination hold files", function () {
        const from = path.join(a, "data");
        const to = path.join(b, "data");
        seed(from);
        seed(to);
        const r = run(moveFiles(from, to, "files"), state);
        assert.equal(r.code, 1);
        assert.match(r.out, /both .* exist: refusing to choose/);
    });

    it("checks the room for a copy before anything moves, naming what is needed and what is free", function () {
        const from = path.join(a, "data");
        seed(from);
        const r = run(roomForMove(from, path.join(b, "x", "data"), 1024 * 1024 * 1024), state);
        assert.equal(r.code, 1);
        assert.match(r.out, /no room for the stored files on the file system of \/.*: \d+ KiB needed .*, \d+ KiB free/);
        assert.equal(run(roomForMove(from, path.join(b, "x", "data"), 0), state).code, 0);
    });
});
