import * as assert from "assert";
import fc from "fast-check";
import { raw, sh, shellQuote } from "../../../lib/core/shell";
import { checkAbsolutePath, checkAddress, checkName, checkServiceName, checkVersion } from "../../../lib/core/validate";
import { runSh } from "./harness";

/** Values an attacker or a typo could put into config. */
export const HOSTILE: readonly string[] = [
    "", " ", "'", "''", "'\\''", '"', "\\", "\\\\", "\\'", "'; rm -rf / #",
    "$(id)", "$(rm -rf /)", "`id`", "${IFS}", "$IFS", "$HOME", "$0", "$$", "$?", "$@",
    "${PATH:?boom}", "$((1+1))", "a;b", "a && b", "a || b", "a | b", "a & b", "a > /tmp/x", "a < /etc/passwd", "a\nb",
    "\nid\n", "a\r\nb", "\r", "a\tb", "\t", "..", "../../etc/passwd", "/app/../etc/shadow", "-rf", "--help",
    "-", "*", "?", "[a-z]", "/app/*", "~", "~root", "!", "!!", "#comment",
    "a#b", "{a,b}", "%s", "%n%n%n", "%%", "\\x41\\0", "\x1b[31mred\x1b[0m", "\x07\x08\x7f", "é", "日本語",
    "\u202eevil\u202c", "\u200b", "\ufeffbom", "😀🔥", "👨‍👩‍👧", "a'b\"c`d$e\\f", "' ; echo pwned ; '", "\"$(id)\"", "'\"$(id)\"'", "set -x",
    "x".repeat(100_000), "'".repeat(100_000), "$(id)".repeat(20_000), "é😀".repeat(30_000),
];

/** Runs `printf %s <quoted>` with dash and returns what it printed. */
function echoThroughShell(value: string): Buffer {
    const r = runSh(`printf %s ${shellQuote(value)}`);
    assert.strictEqual(r.status, 0, r.stderr);
    return r.stdout;
}

describe("core/shell", () => {
    describe("shellQuote", () => {
        it("has at least 50 hostile values to try", () => assert.ok(HOSTILE.length >= 50, String(HOSTILE.length)));

        it("makes every hostile value inert: sh prints it back byte for byte", function () {
            this.timeout(60_000);
            for (const value of HOSTILE) {
                const out = echoThroughShell(value);
                assert.ok(out.equals(Buffer.from(value, "utf8")), `mangled ${JSON.stringify(value.slice(0, 60))}`);
            }
        });

        it("keeps hostile values inert among other words (sh template, arrays)", () => {
            const words = HOSTILE.filter((v) => v.length < 1000);
            const r = runSh(sh`printf '%s\\0' ${words}`);
            assert.strictEqual(r.status, 0, r.stderr);
            assert.deepStrictEqual(r.stdout.toString("utf8").split("\0").slice(0, -1), words);
        });

        it("rejects NUL bytes, which no shell word can carry", () => {
            for (const value of ["\0", "a\0b", "/app\0/redis", "\0".repeat(3)]) {
                assert.throws(() => shellQuote(value), /NUL byte/);
                assert.throws(() => sh`echo ${value}`, /NUL byte/);
            }
        });

        it("rejects lone surrogates, which UTF-8 cannot carry", () => {
            assert.throws(() => shellQuote("a\ud800b"), /lone surrogate/);
            assert.throws(() => shellQuote("\udfff"), /lone surrogate/);
            assert.strictEqual(shellQuote("\ud83d\ude00"), "'😀'");
        });

        it("writes a single quote as '\\''", () => {
            assert.strictEqual(shellQuote("it's"), `'it'\\''s'`);
            assert.strictEqual(shellQuote(""), "''");
        });

        it("is the identity through sh for arbitrary strings without NUL (property)", function () {
            this.timeout(120_000);
            const text = fc.string({ unit: "binary", maxLength: 200 }).filter((s) => !s.includes("\0"));
            fc.assert(fc.property(text, (value) => echoThroughShell(value).equals(Buffer.from(value, "utf8"))), { numRuns: 300 });
        });

        it("is the identity through sh for strings of shell metacharacters (property)", function () {
            this.timeout(120_000);
            const meta = fc.constantFrom(..."'\"`$\\;&|<>(){}[]*?~!#% \t\n\r-=.,/".split(""), "$(", "${", "'\\''");
            const text = fc.array(meta, { maxLength: 60 }).map((parts) => parts.join(""));
            fc.assert(fc.property(text, (value) => echoThroughShell(value).equals(Buffer.from(value, "utf8"))), { numRuns: 300 });
        });
    });

    describe("validators reject hostile values before quoting even matters", () => {
        // Defence in depth: quoting makes them inert, and validation stops them at preview.
        const validators = { checkAbsolutePath, checkAddress, checkServiceName, checkName, checkVersion };
        for (const [name, validator] of Object.entries(validators)) {
            it(`${name} rejects every hostile value`, () => {
                const accepted = HOSTILE.filter((v) => validator(v).length === 0);
                assert.deepStrictEqual(accepted, []);
            });
        }
    });

    describe("sh template", () => {
        it("quotes strings and numbers, joins arrays, splices raw fragments", () => {
            assert.strictEqual(sh`mv -- ${"/a b"} ${"/c"}`, `mv -- '/a b' '/c'`);
            assert.strictEqual(sh`sleep ${5}`, `sleep '5'`);
            assert.strictEqual(sh`rm -f -- ${["/x", "y'z"]}`, `rm -f -- '/x' 'y'\\''z'`);
            assert.strictEqual(sh`true ${[]}end`, "true end");
            assert.strictEqual(sh`if ${raw("test -d /x")}; then :; fi`, "if test -d /x; then :; fi");
        });

        it("quotes a nested template result unless it is marked raw", () => {
            const inner = sh`echo ${"a b"}`;
            assert.strictEqual(sh`x ${inner}`, `x 'echo '\\''a b'\\'''`);
            assert.strictEqual(sh`x; ${raw(inner)}`, "x; echo 'a b'");
        });

        it("refuses numbers that are not finite", () => {
            assert.throws(() => sh`sleep ${NaN}`, /cannot interpolate/);
            assert.throws(() => sh`sleep ${Infinity}`, /cannot interpolate/);
        });

        it("runs what it builds: an array of hostile words arrives as separate arguments", () => {
            const words = ["a b", "$(id)", "*", "-n", "'"];
            const r = runSh(sh`for w in ${words}; do printf '[%s]' "$w"; done`);
            assert.strictEqual(r.stdout.toString(), "[a b][$(id)][*][-n][']");
        });
    });
});
