import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { missingPrerequisitesError, PREREQUISITES_COMMAND, requireInstalled } from "../../../sandbox/prerequisites";

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sources(p) : e.name.endsWith(".ts") ? [p] : [];
    });
}

describe("sandbox/prerequisites", function () {
    it("names what is missing and the command that installs it", function () {
        const e = missingPrerequisitesError(["Debian packages redis-server, keepalived", "Kafka 3.9.2 and ZooKeeper 3.8.6 jars"]);
        assert.match(e.message, /^prerequisites missing: Debian packages redis-server, keepalived; Kafka 3\.9\.2 and ZooKeeper 3\.8\.6 jars\. /);
        assert.ok(e.message.includes(`\`${PREREQUISITES_COMMAND}\``), e.message);
        assert.equal(PREREQUISITES_COMMAND, "npm run prerequisites");
    });

    it("checks a program of the prerequisites without installing it", function () {
        assert.doesNotThrow(() => requireInstalled("/bin/sh", "util-linux"));
        assert.throws(() => requireInstalled("/nonexistent/redis-server", "redis-server"),
            /prerequisites missing: \/nonexistent\/redis-server \(Debian package redis-server\)\. Install them first with `npm run prerequisites`/);
        assert.throws(() => requireInstalled("/bin/sh", "bash"), /bash is not among the sandbox's packages/);
    });

    it("is installed by no test: tests only check (npm test installs before mocha starts)", function () {
        const installers = /\b(ensurePackages|installPackages|installPrerequisites|ensureMiddlewareJars|ensureRedisVersions)\b/;
        const root = path.join(__dirname, "..", "..");
        const offenders = sources(root).filter((f) => f !== __filename && installers.test(fs.readFileSync(f, "utf8")));
        assert.deepEqual(offenders.map((f) => path.relative(root, f)), []);
    });
});
