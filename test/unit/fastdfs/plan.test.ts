import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { inOrder } from "../../../lib/core/plan";
import { renderScript } from "../../../lib/core/script";
import { crashPointsOf } from "../../../lib/core/actions/reversible";
import { ConfigError } from "../../../lib/core/validate";
import { FastDfsArgs, resolveFastDfs } from "../../../lib/fastdfs/args";
import { FASTDFS_STEPS as S, planFastDfs } from "../../../lib/fastdfs/plan";
import { renderStorageConf } from "../../../lib/fastdfs/files";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (name: string, address: string) => ({ name, address, privateKey: pulumi.secret("KEY"), hostKey });
const h1 = host("h1", "10.0.0.11");
const h2 = host("h2", "10.0.0.12");
const h3 = host("h3", "10.0.0.13");
const args = (over: Partial<FastDfsArgs> = {}): FastDfsArgs => ({
    trackers: [{ host: h1 }, { host: h2 }, { host: h3, added: true }],
    storages: [{ host: h1, group: "group1", id: "100001" }, { host: h2, group: "group1", id: "100002" }],
    vip: { address: "10.0.0.100" },
    version: "6.16.0",
    ...over,
});

function problems(a: FastDfsArgs): string[] {
    try {
        resolveFastDfs("fastdfs", a);
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.problems.map((p) => `${p.path}: ${p.rule}`);
    }
    return [];
}

describe("FastDfs arguments", function () {
    it("resolves the runbook's legacy and managed paths by default", function () {
        const r = resolveFastDfs("fastdfs", args());
        assert.equal(r.legacy.trackerDir, "/app/tracker");
        assert.equal(r.legacy.storePath, "/mysql/storage0");
        assert.equal(r.managed.trackerBase, "/mysql/fastdfs/tracker_base");
        assert.equal(r.managed.storageBase, "/mysql/fastdfs/storage_base");
        assert.equal(r.managed.storePath, "/mysql/fastdfs/storage");
        assert.equal(r.home, "/opt/fastdfs/6.16.0");
        assert.deepEqual([...r.hosts.keys()], ["h1", "h2", "h3"]);
    });

    it("gathers every problem into one error naming args.<key> and the value", function () {
        const found = problems(args({
            trackers: [{ host: h1 }, { host: h2 }],
            storages: [{ host: h1, group: "group 1", id: "42" }],
            vip: { address: "10.0.0.11" },
            version: "six",
            managed: { storePath: "/mysql/storage0/new" },
        }));
        assert.deepEqual(found, [
            "args.trackers: must list exactly 3 trackers (the site rule: fdfs-tracker=3)",
            "args.storages: must list at least 2 storages: one is migrated while the other serves",
            "args.storages[0].group: must be a FastDFS group name (1 to 16 of A-Z a-z 0-9 _)",
            "args.storages[0].id: must be a FastDFS storage id: six digits, 100000 to 999999",
            "args.version: must be a version like 1.2.3 (up to 4 numbers, optional -suffix or +suffix)",
            "args.managed.storePath: must not overlap args.legacy.storePath (/mysql/storage0): the legacy files must survive untouched",
            "args.vip.address: must differ from the hosts' addresses",
        ]);
        assert.throws(() => resolveFastDfs("fastdfs", args({ version: "six" })), /args\.version: .* \(got "six"\)/);
    });

    it("refuses an added tracker on a storage host and duplicate storage ids", function () {
        assert.deepEqual(problems(args({
            trackers: [{ host: h1, added: true }, { host: h2 }, { host: h3 }],
            storages: [{ host: h1, group: "group1", id: "100001" }, { host: h2, group: "group1", id: "100001" }],
        })), [
            "args.storages: must give each storage its own id",
            "args.trackers[0].added: must be false on a storage host: an added tracker goes on a host without the legacy site",
        ]);
    });
});

describe("FastDfs plan", function () {
    const plan = planFastDfs("fastdfs", resolveFastDfs("fastdfs", args()));

    it("pre-checks every host, then the added tracker, the legacy trackers, the storages learning them, each storage, the VIP", function () {
        const changes = inOrder(plan).filter((s) => s.kind !== "check").map((s) => s.id);
        assert.deepEqual(changes, [
            S.addTracker("h3"), S.tracker("h1"), S.tracker("h2"), S.learnTrackers("h1"), S.learnTrackers("h2"),
            S.storage("h1"), S.storage("h2"), S.vip("h1"), S.vip("h2"),
        ]);
        for (const s of plan.steps.filter((x) => x.kind !== "check")) {
            for (const h of ["h1", "h2", "h3"]) assert.ok(s.after?.includes(S.precheck(h)), `${s.id} waits on the pre-check of ${h}`);
        }
        // One storage at a time: the second storage waits on the first one's migration.
        assert.ok(plan.steps.find((s) => s.id === S.storage("h2"))!.after!.includes(S.storage("h1")));
    });

    it("has crash points at the dangerous places of the tracker move, learn-trackers and the storage move, both ways", function () {
        const points = (id: string, d: "forward" | "inverse") => crashPointsOf(plan.steps.find((s) => s.id === id)!.action[d]);
        assert.deepEqual(points(S.tracker("h1"), "forward"), [
            "legacy tracker stopped", "backup /app/tracker", "backup /etc/init.d/fdfs_trackerd", "tracker data carried", "managed tracker configured", "managed tracker answers",
        ]);
        assert.deepEqual(points(S.tracker("h1"), "inverse"), ["managed tracker stopped", "restore /etc/init.d/fdfs_trackerd", "restore /app/tracker", "legacy tracker started"]);
        assert.deepEqual(points(S.learnTrackers("h1"), "forward"), ["config written", "restarted"]);
        assert.deepEqual(points(S.learnTrackers("h1"), "inverse"), ["config restored", "restarted"]);
        assert.deepEqual(points(S.storage("h1"), "forward"), [
            "legacy stopped", "backup /app/storage", "backup /usr/local/nginx", "backup /etc/init.d/fdfs_storaged", "backup /etc/init.d/nginx",
            "base carried", "files copied", "files source removed", "files moved", "managed configured", "managed started", "in sync",
        ]);
        assert.deepEqual(points(S.storage("h1"), "inverse"), [
            "managed stopped", "files back copied", "files back source removed", "files back",
            "restore /etc/init.d/fdfs_storaged", "restore /etc/init.d/nginx", "restore /usr/local/nginx", "restore /app/storage", "binlog back", "legacy started",
        ]);
    });

    it("renders every script as valid POSIX sh", function () {
        for (const s of plan.steps) {
            for (const direction of ["forward", "inverse"] as const) {
                if (!s.action[direction]) continue;
                const script = renderScript({ component: "fastdfs", step: s.id, direction, body: s.action[direction] });
                execFileSync("dash", ["-n"], { input: script });
            }
        }
    });

    it("writes storage.conf's tracker_server lines before its [error-log] section, with absolute paths", function () {
        const conf = renderStorageConf({ group: "group1", port: 23000, basePath: "/mysql/fastdfs/storage_base", storePath: "/mysql/fastdfs/storage", trackers: ["10.0.0.11:22122", "10.0.0.12:22122", "10.0.0.13:22122"] });
        const lines = conf.split("\n");
        const lastTracker = lines.map((l) => l.startsWith("tracker_server")).lastIndexOf(true);
        assert.ok(lastTracker > 0 && lastTracker < lines.indexOf("[error-log]"));
        for (const l of lines.filter((x) => /^(base_path|store_path0) /.test(x))) assert.match(l, / = \//);
    });
});
