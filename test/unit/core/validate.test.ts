import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
    checkAbsolutePath, checkAddress, checkCidr, checkFileMode, checkName, checkOwner, checkPackageName, checkPort,
    checkSeconds, checkServiceName, checkVersion, ConfigError, describeValue, Problems, Validator,
} from "../../../lib/core/validate";

/** Asserts that `validator` accepts every `good` value and rejects every `bad` one with exactly `rules`. */
function table(validator: Validator, good: unknown[], bad: [unknown, string[]][]): void {
    for (const value of good) assert.deepStrictEqual(validator(value), [], `should accept ${JSON.stringify(value)}`);
    for (const [value, rules] of bad) assert.deepStrictEqual(validator(value), rules, `rules for ${JSON.stringify(value)}`);
}

const ADDRESS = "must be an IPv4 address (a.b.c.d) or a DNS host name (letters, digits, '-' inside labels)";

describe("core/validate", () => {
    it("checkAddress: IPv4 dotted quad or DNS host name, no leading -", () => {
        table(checkAddress,
            ["10.0.0.1", "0.0.0.0", "255.255.255.255", "redis-master", "db1.example.com", "a", "x".repeat(63) + ".b"],
            [["-oProxyCommand=id", [ADDRESS]], ["256.1.1.1", [ADDRESS]], ["10.0.0", [ADDRESS]], ["010.0.0.1", [ADDRESS]],
                ["host_name", [ADDRESS]], ["a..b", [ADDRESS]], ["-a.b", [ADDRESS]], ["a-.b", [ADDRESS]], ["", [ADDRESS]],
                ["x".repeat(64), [ADDRESS]], [`${"a.".repeat(127)}ab`, [ADDRESS]], ["h ost", [ADDRESS]], ["::1", [ADDRESS]],
                [42, ["must be a string"]], [undefined, ["must be a string"]]]);
    });

    it("checkPort: integer 1..65535", () => {
        const rule = ["must be an integer from 1 to 65535"];
        table(checkPort, [1, 22, 6379, 65535], [[0, rule], [65536, rule], [-1, rule], [1.5, rule], ["6379", rule], [NaN, rule], [null, rule]]);
    });

    it("checkAbsolutePath: one rule per defect", () => {
        table(checkAbsolutePath, ["/", "/app/redis", "/var/lib/redis/dump.rdb", "/opt/a+b@c-1.2_x", "/a/.hidden", "/a/b..c"], [
            ["app/redis", ["must be an absolute path (start with /)"]],
            ["/app/../etc", ["must not contain .. segments"]],
            ["/app/./x", ["must be normalised (no '.' or empty segments, no trailing /)"]],
            ["/app//x", ["must be normalised (no '.' or empty segments, no trailing /)"]],
            ["/app/", ["must be normalised (no '.' or empty segments, no trailing /)"]],
            ["/app/-rf", ["must not have a segment starting with -"]],
            ["/app\nx", ["must not contain NUL, newline or carriage return characters", "must use only the characters A-Z a-z 0-9 . _ / + @ -"]],
            ["/a b", ["must use only the characters A-Z a-z 0-9 . _ / + @ -"]],
            ["/app/*", ["must use only the characters A-Z a-z 0-9 . _ / + @ -"]],
            ["/" + "a".repeat(4096), ["must be at most 4096 characters"]],
            ["../x", ["must be an absolute path (start with /)", "must not contain .. segments"]],
            [7, ["must be a string"]],
        ]);
    });

    it("checkServiceName", () => {
        const rule = ["must be a service name (letter or digit, then letters, digits, _ . @ -; at most 128)"];
        table(checkServiceName, ["redis", "redis-server", "kafka@1", "postgresql@15-main", "fdfs_trackerd", "a".repeat(128)],
            [["-redis", rule], ["redis server", rule], ["redis;id", rule], ["", rule], ["a".repeat(129), rule], [".x", rule]]);
    });

    it("checkVersion", () => {
        const rule = ["must be a version like 1.2.3 (up to 4 numbers, optional -suffix or +suffix)"];
        table(checkVersion, ["6", "6.2", "6.2.14", "3.6.1.0", "3.6.1-rc1", "15.4+deb12u1"],
            [["v6.2", rule], ["6.2.", rule], ["1.2.3.4.5", rule], ["6.2-", rule], ["6.2 ", rule], ["6.2;id", rule], ["", rule]]);
    });

    it("checkCidr: IPv4 address with a prefix length 0..32, VIP notation allowed", () => {
        const rule = ["must be an IPv4 CIDR a.b.c.d/n with n from 0 to 32"];
        table(checkCidr, ["10.0.0.0/8", "192.168.1.100/24", "0.0.0.0/0", "10.1.2.3/32"],
            [["10.0.0.0", rule], ["10.0.0.0/33", rule], ["10.0.0.0/", rule], ["10.0.0.0/08", rule], ["10.0.0/8", rule], ["a/8", rule], ["10.0.0.0/8/8", rule]]);
    });

    it("checkName", () => {
        const rule = ["must be a name (letter or digit, then letters, digits, _ . -; at most 63)"];
        table(checkName, ["redis-ha", "site1", "stop_master", "v6.2", "a".repeat(63)],
            [["-x", rule], [".x", rule], ["a/b", rule], ["a b", rule], ["a\tb", rule], ["a".repeat(64), rule], ["", rule]]);
    });

    it("checkPackageName, checkOwner, checkFileMode, checkSeconds", () => {
        table(checkPackageName, ["redis-server", "g++", "libc6", "python3.11"], [["-y", ["must be a package name (letter or digit, then letters, digits, _ . + -)"]]]);
        const owner = ["must be an owner like user or user:group (POSIX names or numeric ids)"];
        table(checkOwner, ["redis", "redis:redis", "0:0", "_apt"], [["Redis", owner], ["a:b:c", owner], ["-r", owner], ["a;b", owner]]);
        const mode = ["must be an octal mode of 3 or 4 digits, e.g. 0640"];
        table(checkFileMode, ["644", "0640", "1777"], [["0888", mode], ["64", mode], ["u+x", mode], [644, ["must be a string"]]]);
        table(checkSeconds(1, 10), [1, 10], [[0, ["must be a whole number of seconds from 1 to 10"]], [1.5, ["must be a whole number of seconds from 1 to 10"]]]);
    });

    describe("Problems", () => {
        it("throws one error listing every problem as '<path>: <rule> (got <JSON>)'", () => {
            const p = new Problems();
            p.check("args.master.address", "-bad", checkAddress);
            p.check("args.master.port", 70000, checkPort);
            p.check("args.dataDir", "data/../x", checkAbsolutePath);
            p.add("args.slaves", "must hold at least one slave", []);
            assert.throws(() => p.throwIfAny("site-redis"), (e: unknown) => {
                assert.ok(e instanceof ConfigError);
                assert.ok(e instanceof pulumi.InputPropertiesError);
                assert.ok(pulumi.InputPropertiesError.isInstance(e));
                assert.strictEqual(e.message, [
                    "site-redis: 5 invalid argument(s):",
                    `  - args.master.address: ${ADDRESS} (got "-bad")`,
                    "  - args.master.port: must be an integer from 1 to 65535 (got 70000)",
                    '  - args.dataDir: must be an absolute path (start with /) (got "data/../x")',
                    '  - args.dataDir: must not contain .. segments (got "data/../x")',
                    "  - args.slaves: must hold at least one slave (got [])",
                ].join("\n"));
                assert.strictEqual(e.problems.length, 5);
                assert.deepStrictEqual(e.errors[1], { propertyPath: "args.master.port", reason: "must be an integer from 1 to 65535 (got 70000)" });
                return true;
            });
        });

        it("does nothing when there is no problem", () => {
            new Problems().check("a", "10.0.0.1", checkAddress).checkOptional("b", undefined, checkPort).throwIfAny("x");
        });

        it("skips values that are not yet known (Outputs, promises) instead of validating them as strings", () => {
            const p = new Problems()
                .check("args.address", pulumi.output("-not-checked"), checkAddress)
                .check("args.port", Promise.resolve(0), checkPort)
                .check("args.secret", pulumi.secret("x"), checkPort);
            assert.deepStrictEqual(p.list, []);
        });

        it("checkOptional validates given values and skips undefined", () => {
            const p = new Problems().checkOptional("a", undefined, checkPort).checkOptional("b", 0, checkPort);
            assert.deepStrictEqual(p.list.map((x) => x.path), ["b"]);
        });

        it("shortens long values in messages and survives values JSON cannot show", () => {
            assert.strictEqual(describeValue("x".repeat(1000)), `"${"x".repeat(119)}... (1002 characters)`);
            assert.strictEqual(describeValue(undefined), "undefined");
            assert.strictEqual(describeValue(10n), "10");
            assert.strictEqual(describeValue("a\nb"), '"a\\nb"');
        });
    });
});
