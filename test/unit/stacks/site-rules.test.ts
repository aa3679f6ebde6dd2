import * as assert from "node:assert/strict";
import { Problems } from "../../../lib/core/validate";
import { checkSiteRules } from "../../../stacks/site-rules";

const redis = { master: "h1", slave: "h2", version: "7.0.15", vip: { address: "10.0.0.100" } };
const postgres = { master: "h1", standby: "h2", version: "15", vip: { address: "10.0.0.101" } };
const naming = { customer: "acme", subsystem: "billing", side: "A" };

function check(topologies: Record<string, unknown>, site?: unknown) {
    const p = new Problems();
    const names = checkSiteRules(topologies, site, p);
    return { names, problems: p.list.map((x) => `${x.path}: ${x.rule} (got ${JSON.stringify(x.value)})`) };
}

describe("site rules (PROCEDURES.md section 1, pre-checks 4, 6, 7)", () => {
    it("a site that keeps them: no problem; instance names from the pattern", () => {
        const r = check({ redis, postgres }, naming);
        assert.deepEqual(r.problems, []);
        assert.deepEqual([...r.names], [["redis", "acme-billing-Redis-A"], ["postgres", "acme-billing-PostgreSQL-A"]]);
    });

    it("without middleware:site, instance names are not checked", () => {
        assert.deepEqual(check({ redis }).names.size, 0);
    });

    it("node counts: Redis HA is 1 master + 1 slave + keepalived", () => {
        const r = check({ redis: { ...redis, slave: "h1", vip: undefined } });
        assert.deepEqual(r.problems, [
            'middleware:redis.slave: Redis HA is 1 master + 1 slave on two hosts (site rule: pre-check 4): the slave must be another host than the master (got "h1")',
            "middleware:redis.vip: Redis HA is 1 master + 1 slave + keepalived (site rule: pre-check 4): the keepalived VIP is required (got undefined)",
        ]);
    });

    it("node counts: Kafka is 3 Kafka + 3 ZooKeeper", () => {
        const node = (host: string) => ({ host });
        const r = check({ kafka: { zookeeper: [node("h1"), node("h2")], brokers: [node("h1"), node("h2"), node("h3")] } });
        assert.deepEqual(r.problems, ['middleware:kafka.zookeeper: Kafka is 3 Kafka + 3 ZooKeeper (site rule: pre-check 4): list 3 ZooKeeper nodes (got "2 listed")']);
    });

    it("node counts: FastDFS runs 3 trackers", () => {
        const r = check({ fastdfs: { trackers: [{ host: "h1" }, { host: "h2" }], storages: [] } });
        assert.deepEqual(r.problems, ['middleware:fastdfs.trackers: FastDFS runs 3 trackers (site rule: pre-check 4; add the third with `added: true`) (got "2 listed")']);
    });

    it("one instance per product: a list of instances is refused", () => {
        const r = check({ redis: [redis, redis] });
        assert.deepEqual(r.problems, ['middleware:redis: each product is deployed as ONE instance (site rule: pre-check 7): give one Redis object, not a list of 2 (got "[2 items]")']);
    });

    it("instance names follow the site's pattern and tell instances apart", () => {
        const r = check({ redis: { ...redis, instanceName: "redis-a" }, postgres: { ...postgres, instanceName: "acme-billing-Redis-A" } }, naming);
        assert.deepEqual(r.problems, [
            'middleware:redis.instanceName: must follow the site\'s pattern {customer}-{subsystem}-{Product}-{side} for Redis (site rule: pre-check 6), e.g. acme-billing-Redis-A (got "redis-a")',
            'middleware:postgres.instanceName: must follow the site\'s pattern {customer}-{subsystem}-{Product}-{side} for PostgreSQL (site rule: pre-check 6), e.g. acme-billing-PostgreSQL-A (got "acme-billing-Redis-A")',
        ]);
    });

    it("a B-side instance name under the same pattern", () => {
        const r = check({ redis: { ...redis, instanceName: "acme-billing-Redis-B" } }, naming);
        assert.deepEqual(r.problems, []);
        assert.equal(r.names.get("redis"), "acme-billing-Redis-B");
    });

    it("middleware:site itself: parts, side, and a pattern that tells instances apart", () => {
        const r = check({ redis }, { customer: "ac-me", subsystem: "billing", side: "C", instanceNamePattern: "{customer}-{Product}" });
        assert.deepEqual(r.problems, [
            'middleware:site.customer: must be letters and digits (it is part of every instance name) (got "ac-me")',
            'middleware:site.side: must be A or B (the data centre of this site\'s instances) (got "C")',
            'middleware:site.instanceNamePattern: must contain {subsystem}, {side}: instance names must tell the site\'s instances apart (site rule: pre-check 6) (got "{customer}-{Product}")',
        ]);
    });
});
