import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { crashPointsOf } from "../../../lib/core/actions/reversible";
import { resolveKafkaZk } from "../../../lib/kafka/args";
import { KAFKA_STEPS as S, planKafkaZk } from "../../../lib/kafka/plan";

/*
 * Where a host may crash inside a roll (run for real through the engine in
 * test/engine/kafka-migration.test.ts): after the stop, after the renames, after the start,
 * both ways; and what a re-run finds there.
 */

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (n: number) => ({ name: `h${n}`, address: `10.0.0.${10 + n}`, privateKey: pulumi.secret("KEY"), hostKey });
const plan = planKafkaZk("kafka", resolveKafkaZk("kafka", {
    zookeeper: [1, 2, 3].map((n) => ({ host: host(n), myid: n })),
    brokers: [1, 2, 3].map((n) => ({ host: host(n), brokerId: n })),
    version: "3.9.2",
    zookeeperVersion: "3.8.6",
    jars: "/opt/middleware-jars/kafka-3.9.2_zookeeper-3.8.6",
}));
const action = (id: string) => plan.steps.find((s) => s.id === id)!.action;
const ordered = (script: string, ...marks: string[]) => {
    const at = marks.map((m) => script.indexOf(m));
    at.forEach((i, k) => assert.ok(i >= 0, `missing ${marks[k]}`));
    for (let k = 1; k < at.length; k++) assert.ok(at[k - 1] < at[k], `${marks[k - 1]} before ${marks[k]}`);
};

describe("KafkaZk rolls after a crash", function () {
    it("each roll has a crash point after the stop, after the renames and the link, and after the start, both ways, with unique names", function () {
        for (const id of [S.zookeeperRoll(1), S.zookeeperRoll(3), S.brokerRoll(2)]) {
            const { forward, inverse } = action(id);
            const service = id.startsWith("zk") ? "zookeeper" : "kafka";
            ordered(forward, `service '${service}' stop`, "# crash point: stopped", "mv -- ", "# crash point: linked", `service '${service}' start`, "# crash point: started", "mw_alive_and '");
            ordered(inverse, `service '${service}' stop`, "# crash point: stopped", "mv -- ", "# crash point: restored", `service '${service}' start`, "# crash point: started", "mw_alive_and '");
            for (const script of [forward, inverse]) {
                const points = crashPointsOf(script);
                assert.equal(new Set(points).size, points.length, `${id}: unique names: ${points.join(", ")}`);
            }
        }
    });

    it("a version roll stages, then stops, relinks, starts and passes the gate, with crash points between; its inverse rolls back to the base only while its version runs, then removes its home", function () {
        for (const id of [S.zookeeperVersion(1), S.brokerVersion(3)]) {
            const { forward, inverse } = action(id);
            const service = id.startsWith("zk") ? "zookeeper" : "kafka";
            ordered(forward.slice(forward.indexOf("# crash point: stage")), ".mw-base.mw-tmp", `service '${service}' stop`, "# crash point: stopped", "mv -Tf", "# crash point: linked", `service '${service}' start`, "# crash point: started", "mw_alive_and '");
            ordered(inverse, ".mw-base", "rolling back from", `service '${service}' stop`, "# crash point: stopped", "mv -Tf", "# crash point: linked", `service '${service}' start`, "# crash point: started", "mw_alive_and '", "# crash point: remove", "rm -rf ");
            for (const script of [forward, inverse]) {
                const points = crashPointsOf(script);
                assert.equal(new Set(points).size, points.length, `${id}: unique names: ${points.join(", ")}`);
            }
        }
    });

    it("a broker takes part (and must wait for healthy partitions before it stops) only while its daemon runs: a dead one keeps its registration until its session expires", function () {
        const { forward, inverse } = action(S.brokerRoll(2));
        for (const script of [forward, inverse]) {
            assert.match(script, /if \{ service 'kafka' status >\/dev\/null 2>&1 && case ",\$\(mw_broker_ids '[^']+'\)," in \*,2,\*\) true ;; \*\) false ;; esac; \}; then\n\s+mw_wait_until '600' 'no partition under-replicated or offline before broker 2 stops'/);
        }
    });

    it("the inverse removes the init link only while it is ours or its backup is still there (a re-run after the legacy script came back skips it)", function () {
        const inverse = action(S.brokerRoll(1)).inverse;
        assert.match(inverse, /if \{ \[ -L '\/etc\/init\.d\/kafka' \] && \[ "\$\(readlink '\/etc\/init\.d\/kafka'\)" = '[^']+' \]; \} \|\| \{ \[ -e '\/etc\/init\.d\/kafka_bak' \] \|\| \[ -L '\/etc\/init\.d\/kafka_bak' \]; \}; then\n# crash point: unlink \/etc\/init\.d\/kafka\n/);
    });
});
