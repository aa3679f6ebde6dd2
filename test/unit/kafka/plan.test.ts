import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { inOrder } from "../../../lib/core/plan";
import { renderScript } from "../../../lib/core/script";
import { ConfigError } from "../../../lib/core/validate";
import { KafkaZkArgs, resolveKafkaZk } from "../../../lib/kafka/args";
import { KAFKA_STEPS as S, planKafkaZk } from "../../../lib/kafka/plan";
import { ZOOKEEPER_JAR, ZOOKEEPER_JAR_CASE } from "../../../lib/kafka/files";
import { pinnedBrokerSettings } from "../../../lib/kafka/stage";

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (n: number) => ({ name: `h${n}`, address: `10.0.0.${10 + n}`, privateKey: pulumi.secret("KEY"), hostKey });
const args = (over: Partial<KafkaZkArgs> = {}): KafkaZkArgs => ({
    zookeeper: [1, 2, 3].map((n) => ({ host: host(n), myid: n })),
    brokers: [1, 2, 3].map((n) => ({ host: host(n), brokerId: n })),
    version: "3.9.2",
    zookeeperVersion: "3.8.6",
    jars: "/opt/middleware-jars/kafka-3.9.2_zookeeper-3.8.6",
    ...over,
});

function problems(a: KafkaZkArgs): string[] {
    try {
        resolveKafkaZk("kafka", a);
    } catch (e) {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /^kafka: \d+ invalid argument\(s\):/);
        return e.problems.map((p) => `${p.path}: ${p.rule}`);
    }
    return [];
}

describe("KafkaZk arguments", function () {
    it("resolves the runbook's paths and versions by default", function () {
        const r = resolveKafkaZk("kafka", args());
        assert.equal(r.legacy.zookeeperDir, "/app/soft/apache-zookeeper-3.5.6-bin");
        assert.equal(r.legacy.kafkaDir, "/app/soft/kafka_2.12-2.3.0");
        assert.equal(r.legacy.kafkaConfig, "/app/soft/kafka_2.12-2.3.0/config/server.properties");
        assert.equal(r.legacy.zookeeperConfig, "/app/soft/apache-zookeeper-3.5.6-bin/conf/zoo.cfg");
        assert.equal(r.legacy.zookeeperInit, "/etc/init.d/zookeeper");
        assert.equal(r.legacy.kafkaInit, "/etc/init.d/kafka");
        assert.equal(r.managedRoot, "/app/middleware/kafka");
        assert.deepEqual(r.brokers.map((b) => b.listener), ["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"]);
        assert.equal(r.finalize, false);
    });

    it("gathers every problem into one error naming the argument, the value and the rule", function () {
        const found = problems(args({
            zookeeper: [{ host: host(1), myid: 1 }, { host: host(2), myid: 1 }],
            brokers: [{ host: host(1), brokerId: 1 }, { host: host(2), brokerId: -1, listener: "nope" }, { host: host(2), brokerId: 3 }],
            version: "4.0.0",
            zookeeperVersion: "3.4.14",
            jars: "relative/dir",
            legacy: { kafkaDataDir: "/app/soft/kafka_2.12-2.3.0/data" },
            managed: { root: "/app/soft" },
        }));
        const expect = [
            /^args\.zookeeper: must list 3 ZooKeeper nodes/,
            /^args\.zookeeper\[1\]\.myid: must be unique/,
            /^args\.brokers\[1\]\.brokerId: must be an integer from 0/,
            /^args\.brokers\[1\]\.listener: must be host:port/,
            /^args\.brokers\[2\]\.host\.name: must be unique among the brokers/,
            /^args\.version: must be a Kafka release with ZooKeeper mode/,
            /^args\.zookeeperVersion: must be a ZooKeeper 3\.5 to 3\.9 release/,
            /^args\.jars: must be an absolute path/,
            /^args\.legacy\.kafkaDataDir: must lie outside args\.legacy\.kafkaDir/,
            /^args\.managed\.root: must not overlap args\.legacy\.zookeeperDir/,
        ];
        for (const e of expect) assert.ok(found.some((f) => e.test(f)), `expected ${e} among:\n${found.join("\n")}`);
    });

    it("refuses a managed version older than the legacy one", function () {
        assert.ok(problems(args({ version: "2.2.0" })).some((f) => /^args\.version: must not be older than the legacy Kafka 2\.3\.0/.test(f)));
    });

    it("waits in each health gate for waitSeconds (300 s for ZooKeeper, 600 s for a broker by default), and a change redoes no step", function () {
        assert.ok(problems(args({ waitSeconds: 5 })).some((f) => /^args\.waitSeconds: /.test(f)));
        const def = planKafkaZk("kafka", resolveKafkaZk("kafka", args()));
        const short = planKafkaZk("kafka", resolveKafkaZk("kafka", args({ waitSeconds: 45 })));
        const roll = (p: typeof def, id: string) => p.steps.find((s) => s.id === id)!;
        assert.match(roll(def, S.zookeeperRoll(1)).action.forward, /mw_wait_until '300' /);
        assert.match(roll(def, S.brokerRoll(1)).action.forward, /mw_wait_until '600' /);
        for (const id of [S.zookeeperRoll(1), S.brokerRoll(1)]) {
            assert.match(roll(short, id).action.forward, /mw_wait_until '45' /);
            assert.doesNotMatch(roll(short, id).action.forward, /mw_wait_until '(300|600)' /);
        }
        for (const s of def.steps) assert.deepEqual(roll(short, s.id).triggers, s.triggers, `${s.id}: triggers unchanged`);
    });
});

describe("KafkaZk plan", function () {
    const plan = planKafkaZk("kafka", resolveKafkaZk("kafka", args()));
    const order = inOrder(plan).map((s) => s.id);

    it("checks every node before any change, stages, then rolls ZooKeeper in the given order, then the brokers", function () {
        const checks = plan.steps.filter((s) => s.kind === "check").map((s) => s.id);
        assert.deepEqual(checks.sort(), [1, 2, 3].flatMap((n) => [S.zookeeperPrecheck(n), S.brokerPrecheck(n)]).sort());
        for (const s of plan.steps.filter((x) => x.kind !== "check")) {
            for (const c of checks) assert.ok(s.after?.includes(c), `${s.id} waits on ${c}`);
        }
        const rolls = order.filter((id) => id.endsWith("-roll"));
        assert.deepEqual(rolls, [S.zookeeperRoll(1), S.zookeeperRoll(2), S.zookeeperRoll(3), S.brokerRoll(1), S.brokerRoll(2), S.brokerRoll(3)]);
        const byId = new Map(plan.steps.map((s) => [s.id, s]));
        assert.ok(byId.get(S.zookeeperRoll(2))!.after!.includes(S.zookeeperRoll(1)), "one ZooKeeper node at a time");
        assert.ok(byId.get(S.brokerRoll(1))!.after!.includes(S.zookeeperRoll(3)), "brokers after the whole ensemble");
        assert.ok(byId.get(S.brokerRoll(3))!.after!.includes(S.brokerRoll(2)), "one broker at a time");
        for (const n of [1, 2, 3]) assert.ok(order.indexOf(S.brokerStage(n)) < order.indexOf(S.zookeeperRoll(1)), "everything staged before the first roll");
    });

    it("pins the inter-broker protocol to the legacy version; finalize raises it in its own roll, removes the backups and protects every step", function () {
        const r = resolveKafkaZk("kafka", args());
        assert.deepEqual(pinnedBrokerSettings(r, r.brokers[0]), {
            listeners: "PLAINTEXT://10.0.0.11:9092", "inter.broker.protocol.version": "2.3", "log.message.format.version": "2.3",
        });
        assert.ok(plan.steps.every((s) => !s.protect));
        assert.ok(!order.some((id) => id.includes("raise-protocol") || id.includes("remove-backups")));
        const fp = planKafkaZk("kafka", resolveKafkaZk("kafka", args({ finalize: true })));
        const versionStep = (id: string) => id.endsWith("-version");
        assert.ok(fp.steps.every((s) => (s.protect ?? false) === !versionStep(s.id)), "every step protected but the version steps, which a version change replaces");
        const forder = inOrder(fp).map((s) => s.id);
        const raises = forder.filter((id) => id.endsWith("-raise-protocol"));
        assert.deepEqual(raises, [S.raiseProtocol(1), S.raiseProtocol(2), S.raiseProtocol(3)]);
        assert.ok(forder.indexOf(S.raiseProtocol(1)) > forder.indexOf(S.brokerRoll(3)), "the protocol is raised after every broker rolled");
        for (const n of [1, 2, 3]) {
            assert.ok(forder.indexOf(S.zookeeperRemoveBackups(n)) > forder.indexOf(S.raiseProtocol(3)));
            assert.ok(forder.indexOf(S.brokerRemoveBackups(n)) > forder.indexOf(S.raiseProtocol(3)));
        }
        const byId = new Map(fp.steps.map((s) => [s.id, s]));
        assert.match(byId.get(S.raiseProtocol(1))!.action.forward, /inter\.broker\.protocol\.version=3\.9/);
        assert.equal(byId.get(S.raiseProtocol(1))!.action.inverse, "", "a raised protocol cannot be lowered");
        // finalize adds steps and changes no other step's triggers: a migrated site is not redone.
        const triggers = (p: typeof plan) => new Map(p.steps.map((s) => [s.id, JSON.stringify(s.triggers ?? [])]));
        const [t0, t1] = [triggers(plan), triggers(fp)];
        for (const [id, t] of t0) assert.equal(t1.get(id), t, `${id}: triggers unchanged by finalize`);
    });

    it("a later version change replaces only that daemon's version steps, forward-first, in the roll order after the migration", function () {
        const triggers = (p: typeof plan) => new Map(p.steps.map((s) => [s.id, JSON.stringify(s.triggers ?? [])]));
        const changed = (over: Partial<KafkaZkArgs>) => {
            const [t0, t1] = [triggers(plan), triggers(planKafkaZk("kafka", resolveKafkaZk("kafka", args(over))))];
            return [...t0].filter(([id, t]) => t1.get(id) !== t).map(([id]) => id);
        };
        assert.deepEqual(changed({ zookeeperVersion: "3.9.5", jars: "/opt/middleware-jars/kafka-3.9.2_zookeeper-3.9.5" }), [S.zookeeperVersion(1), S.zookeeperVersion(2), S.zookeeperVersion(3)]);
        assert.deepEqual(changed({ version: "3.9.1", jars: "/opt/middleware-jars/kafka-3.9.1_zookeeper-3.8.6" }), [S.brokerVersion(1), S.brokerVersion(2), S.brokerVersion(3)]);
        const versions = order.filter((id) => id.endsWith("-version"));
        assert.deepEqual(versions, [S.zookeeperVersion(1), S.zookeeperVersion(2), S.zookeeperVersion(3), S.brokerVersion(1), S.brokerVersion(2), S.brokerVersion(3)]);
        const byId = new Map(plan.steps.map((s) => [s.id, s]));
        assert.ok(byId.get(S.zookeeperVersion(1))!.after!.includes(S.brokerRoll(3)), "after the migration's last roll");
        assert.ok(byId.get(S.zookeeperVersion(2))!.after!.includes(S.zookeeperVersion(1)), "one node at a time");
        assert.ok(byId.get(S.brokerVersion(1))!.after!.includes(S.zookeeperVersion(3)), "brokers after the ensemble");
        for (const id of versions) assert.equal(byId.get(id)!.replace, "forward-first", `${id}: the new version rolls before the old step's inverse removes the old home`);
        const zk = byId.get(S.zookeeperVersion(1))!.action;
        assert.match(zk.forward, /\/app\/middleware\/kafka\/zookeeper-3\.8\.6\/bin\/zookeeper\.init/);
        assert.match(zk.forward, /mw_zk_ensemble_synced/, "behind the migration's gates");
        assert.match(zk.inverse, /\.mw-base/, "the inverse rolls back to the version the migration staged");
    });

    it("renders every script as valid POSIX sh (dash -n), finalize's too", function () {
        for (const s of [...plan.steps, ...planKafkaZk("kafka", resolveKafkaZk("kafka", args({ finalize: true }))).steps]) {
            for (const [direction, body] of [["forward", s.action.forward], ["inverse", s.action.inverse]] as const) {
                if (!body) continue;
                const script = renderScript({ component: "kafka", step: s.id, direction, body });
                execFileSync("dash", ["-n"], { input: script });
            }
        }
    });

    it("keeps the jar pattern of the ZooKeeper install and its shell form in step", function () {
        const jars = ["zookeeper-3.8.6.jar", "zookeeper-jute-3.8.6.jar", "netty-handler-4.1.130.Final.jar", "slf4j-api-1.7.36.jar", "reload4j-1.2.25.jar",
            "commons-cli-1.4.jar", "kafka_2.13-3.9.2.jar", "kafka-clients-3.9.2.jar", "scala-library-2.13.15.jar", "jackson-core-2.16.2.jar"];
        const matched = jars.filter((j) => ZOOKEEPER_JAR.test(j));
        const script = `for j in ${jars.join(" ")}; do case $j in ${ZOOKEEPER_JAR_CASE}) echo "$j" ;; esac; done`;
        const shell = execFileSync("dash", ["-c", script], { encoding: "utf8" }).trim().split("\n");
        assert.deepEqual(shell, matched);
        assert.deepEqual(matched, jars.slice(0, 6));
    });
});
