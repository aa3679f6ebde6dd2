import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import {
    FASTDFS_SOURCES_ENV,
    fastdfsBuildKey,
    fastdfsBuildLayout,
    fastdfsBuildReady,
    fastdfsSourcesDir,
    MOD_FASTDFS_CONF,
} from "../../../sandbox/sites/fastdfs-build";
import { missingPrerequisitesError } from "../../../sandbox/prerequisites";

/*
 * Where the FastDFS build comes from and goes, and (the build being a prerequisite, installed
 * by `npm run prerequisites` before mocha) that what is published runs: the daemons with their
 * libraries, nginx with the FastDFS module and its config moved under /usr/local/nginx.
 */

describe("FastDFS build (prerequisites)", function () {
    it("reads the sources from ../shared/vendor/fastdfs beside the project, or the folder the env var names", function () {
        assert.equal(fastdfsSourcesDir({}), path.resolve(__dirname, "..", "..", "..", "..", "shared", "vendor", "fastdfs"));
        assert.equal(fastdfsSourcesDir({ [FASTDFS_SOURCES_ENV]: "/srv/src/fastdfs" }), "/srv/src/fastdfs");
    });

    it("keys the cache by every source version and publishes per FastDFS version", function () {
        assert.equal(fastdfsBuildKey(), "libfastcommon-1.0.86_libserverframe-1.2.14_fastdfs-6.16.0_fastdfs-nginx-module-1.26_nginx-1.28.3");
        const l = fastdfsBuildLayout({ cacheDir: "/c", publishRoot: "/opt/x" });
        assert.deepEqual(l, { cacheDir: `/c/fastdfs/${fastdfsBuildKey()}`, home: "/opt/x/6.16.0" });
    });

    it("publishes daemons that run with their libraries and nginx built with the module", function () {
        if (!fastdfsBuildReady()) throw missingPrerequisitesError(["the FastDFS build"]);
        const { home } = fastdfsBuildLayout();
        const env = { ...process.env, LD_LIBRARY_PATH: path.join(home, "lib") };
        const version = execFileSync("sh", ["-c", `${path.join(home, "nginx", "sbin", "nginx")} -V 2>&1`], { env, encoding: "utf8" });
        assert.match(version, /nginx\/1\.28\.3/);
        assert.match(version, /--add-module=\S*fastdfs-module/);
        assert.ok(execFileSync("strings", [path.join(home, "nginx", "sbin", "nginx")], { encoding: "utf8" }).includes(MOD_FASTDFS_CONF));
        const usage = execFileSync("sh", ["-c", `${path.join(home, "bin", "fdfs_trackerd")} 2>&1 || :`], { env, encoding: "utf8" });
        assert.match(usage, /Usage: .*fdfs_trackerd/);
        assert.doesNotMatch(execFileSync("sh", ["-c", `ldd ${path.join(home, "bin", "fdfs_storaged")}`], { env, encoding: "utf8" }), /not found/);
    });
});
