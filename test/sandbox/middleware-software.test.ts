import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import { exec, Inventory, InventoryHost } from "../../sandbox";
import { MiddlewareJars, middlewareJars, KAFKA_VERSION, ZOOKEEPER_VERSION } from "../../sandbox/sites/kafka-jars";
import { sandboxUp } from "../support/hosts";

/*
 * The middleware software the sandbox installs, run for real on its hosts: ZooKeeper on the
 * first host and a Kafka broker in ZooKeeper mode on the second, both from the jars `up`
 * fetched from Maven Central (/opt/middleware-jars), a topic created, a message produced and
 * consumed with Kafka's own CLI classes; and a PostgreSQL 15 cluster from Debian's packages,
 * initialised, started, queried and stopped.
 *
 * Coexists with the suite's other tests on the legacy-redis site, and with any other site a
 * developer left up (sandboxUp keeps it): works only under DIR on the hosts, on ports 12181,
 * 19092 and 55432, which no site uses (legacy-kafka's ZooKeeper and brokers hold 2181 and 9092),
 * and stops (by pid) every process it started.
 */

const DIR = "/app/middleware-software-test";
const ZK_PORT = 12181;
const KAFKA_PORT = 19092;
const PG_PORT = 55432;
const PG_BIN = "/usr/lib/postgresql/15/bin";
const TOPIC = "sandbox-middleware-test";
/** Small heaps: JVM starts are slow on two cores, and the hosts share the machine's memory. */
const SERVER_JVM = "-Xms64m -Xmx256m -XX:+UseSerialGC";
const TOOL_JVM = "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";

let inv: Inventory;
let jars: MiddlewareJars;
let zkHost: InventoryHost;
let kafkaHost: InventoryHost;
let pgHost: InventoryHost;

async function onHost(host: InventoryHost, cmd: string, timeoutMs = 120_000): Promise<string> {
    const r = await exec(host.name, cmd, { timeoutMs });
    if (r.code !== 0) throw new Error(`on ${host.name}: ${cmd}\nexit ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
}

async function writeFile(host: InventoryHost, file: string, content: string): Promise<void> {
    const r = await exec(host.name, `cat >${file}`, { input: content });
    if (r.code !== 0) throw new Error(`on ${host.name}: cannot write ${file}: ${r.stderr}`);
}

/** Runs one of Kafka's CLI classes on a host. */
function kafkaTool(host: InventoryHost, mainClass: string, args: string, input?: string, timeoutMs = 90_000): Promise<string> {
    const cmd = `java ${TOOL_JVM} -Dlog4j.configuration=file:${DIR}/tools-log4j.properties -cp '${jars.dir}/*' ${mainClass} ${args}`;
    return exec(host.name, input === undefined ? cmd : `printf '%s\\n' '${input}' | ${cmd}`, { timeoutMs }).then((r) => {
        if (r.code !== 0) throw new Error(`on ${host.name}: ${mainClass} ${args}\nexit ${r.code}: ${r.stderr}${r.stdout}`);
        return r.stdout;
    });
}

/** Starts a JVM in the background on a host; its pid goes to DIR/NAME.pid, its output to DIR/NAME.out. */
async function startJava(host: InventoryHost, name: string, args: string): Promise<number> {
    const out = await onHost(host,
        `cd ${DIR} && nohup java ${args} >${DIR}/${name}.out 2>&1 </dev/null & echo $! >${DIR}/${name}.pid; cat ${DIR}/${name}.pid`);
    return Number(out.trim());
}

/**
 * Stops the process whose pid is in DIR/NAME.pid, if it is still ours (its command line
 * mentions DIR): TERM, then KILL after `graceSeconds`. Quiet when there is nothing to stop.
 */
async function stopByPidFile(host: InventoryHost, name: string, graceSeconds = 30): Promise<void> {
    await onHost(host, `
        f=${DIR}/${name}.pid
        [ -f "$f" ] || exit 0
        pid=$(cat "$f")
        if [ -n "$pid" ] && tr '\\0' ' ' </proc/$pid/cmdline 2>/dev/null | grep -qF '${DIR}/'; then
            kill -TERM "$pid"
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt ${graceSeconds * 5} ]; do sleep 0.2; i=$((i + 1)); done
            if kill -0 "$pid" 2>/dev/null; then echo "${name} (pid $pid) ignored TERM for ${graceSeconds} s: KILL" >&2; kill -KILL "$pid"; fi
        fi
        rm -f "$f"`, (graceSeconds + 10) * 1000);
}

/** Stops the test's PostgreSQL cluster if it runs (pg_ctl, then its postmaster's pid). */
async function stopPostgres(host: InventoryHost): Promise<void> {
    await onHost(host, `
        d=${DIR}/pg/data
        [ -f $d/postmaster.pid ] || exit 0
        runuser -u postgres -- ${PG_BIN}/pg_ctl -D $d -m fast -w -t 30 stop >/dev/null 2>&1 && exit 0
        pid=$(head -1 $d/postmaster.pid)
        if [ -n "$pid" ] && tr '\\0' ' ' </proc/$pid/cmdline 2>/dev/null | grep -qF "$d"; then kill -QUIT "$pid"; fi`, 60_000);
}

async function stopEverything(): Promise<void> {
    // The broker before ZooKeeper: a broker without its ZooKeeper waits on shutdown.
    await stopByPidFile(kafkaHost, "kafka");
    await stopByPidFile(zkHost, "zookeeper");
    await stopPostgres(pgHost);
}

/** Fails clearly when something else listens on the port (on any of the host's addresses). */
async function assertPortFree(host: InventoryHost, port: number): Promise<void> {
    const listening = (await onHost(host, `ss -ltnH 'sport = :${port}'`)).trim();
    assert.strictEqual(listening, "", `${host.name}: port ${port} is taken, the test needs it:\n${listening}`);
}

/** Sends a ZooKeeper four-letter word from the root namespace (across the bridge) and returns the answer. */
function fourLetterWord(host: InventoryHost, word: string): Promise<string> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: host.address, port: ZK_PORT });
        let answer = "";
        socket.setTimeout(2000, () => socket.destroy());
        socket.on("connect", () => socket.write(word));
        socket.on("data", (d) => (answer += d.toString()));
        socket.on("close", () => resolve(answer));
        socket.on("error", () => resolve(""));
    });
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, diagnose: () => Promise<string>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s:\n${await diagnose()}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

const tail = (host: InventoryHost, file: string) => onHost(host, `tail -n 30 ${file} 2>&1 || true`);

describe("middleware software on the sandbox hosts (ZooKeeper, Kafka, PostgreSQL)", function () {
    before(async function () {
        inv = await sandboxUp();
        jars = middlewareJars();
        [zkHost, kafkaHost] = inv.hosts;
        pgHost = inv.hosts[0];
        // A run that crashed may have left its processes: stop them (by pid, if ours), then start clean.
        await stopEverything();
        for (const h of [zkHost, kafkaHost]) await onHost(h, `rm -rf ${DIR} && mkdir -p ${DIR}`);
    });

    after(async function () {
        if (!zkHost) return;
        await stopEverything();
        for (const h of [zkHost, kafkaHost]) await onHost(h, `rm -rf ${DIR}`);
    });

    it("publishes the Kafka and ZooKeeper jars Maven resolved on every host", async () => {
        assert.ok(jars.resolved.includes(`org.apache.kafka:kafka_2.13:jar:${KAFKA_VERSION}:compile`), jars.resolved.join("\n"));
        assert.ok(jars.resolved.includes(`org.apache.zookeeper:zookeeper:jar:${ZOOKEEPER_VERSION}:compile`), jars.resolved.join("\n"));
        assert.match(KAFKA_VERSION, /^3\.9\.\d+$/);
        assert.match(ZOOKEEPER_VERSION, /^3\.8\.\d+$/);
        const manifest = fs.readFileSync(`${jars.dir}/MANIFEST`, "utf8");
        for (const h of inv.hosts) {
            assert.strictEqual(await onHost(h, `cat ${jars.dir}/MANIFEST`), manifest, `${h.name} sees other jars`);
            // Readable by any user, not only root (the cache itself is under root's home).
            await onHost(h, `runuser -u postgres -- sh -c 'cat ${jars.dir}/kafka_2.13-${KAFKA_VERSION}.jar >/dev/null'`);
        }
    });

    it("runs ZooKeeper and a Kafka broker in ZooKeeper mode: creates a topic, produces and consumes a message", async function () {
        for (const [h, port] of [[zkHost, ZK_PORT], [kafkaHost, KAFKA_PORT]] as const) await assertPortFree(h, port);
        const log4j = (level: string, target: string) =>
            `log4j.rootLogger=${level}, out\nlog4j.appender.out=org.apache.log4j.ConsoleAppender\nlog4j.appender.out.Target=${target}\n` +
            `log4j.appender.out.layout=org.apache.log4j.PatternLayout\nlog4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n\n`;
        for (const h of [zkHost, kafkaHost]) {
            await writeFile(h, `${DIR}/log4j.properties`, log4j("INFO", "System.out"));
            await writeFile(h, `${DIR}/tools-log4j.properties`, log4j("WARN", "System.err"));
        }

        await writeFile(zkHost, `${DIR}/zoo.cfg`, [
            `dataDir=${DIR}/zookeeper-data`,
            `clientPort=${ZK_PORT}`,
            `clientPortAddress=${zkHost.address}`,
            "tickTime=2000",
            "initLimit=10",
            "syncLimit=5",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr",
            "",
        ].join("\n"));
        await onHost(zkHost, `mkdir -p ${DIR}/zookeeper-data`);
        const zkPid = await startJava(zkHost, "zookeeper",
            `${SERVER_JVM} -Dlog4j.configuration=file:${DIR}/log4j.properties -cp '${jars.dir}/*' ` +
            `org.apache.zookeeper.server.quorum.QuorumPeerMain ${DIR}/zoo.cfg`);
        assert.ok(zkPid > 1, "ZooKeeper got a pid");
        // ruok answers imok as soon as the port is open; srvr only once the server serves requests.
        await waitUntil("ZooKeeper did not serve requests", async () => (await fourLetterWord(zkHost, "srvr")).includes("Mode: standalone"), 60_000,
            () => tail(zkHost, `${DIR}/zookeeper.out`));
        assert.strictEqual(await fourLetterWord(zkHost, "ruok"), "imok");
        assert.match(await fourLetterWord(zkHost, "srvr"), new RegExp(`Zookeeper version: ${ZOOKEEPER_VERSION.replace(/\./g, "\\.")}`));

        await writeFile(kafkaHost, `${DIR}/server.properties`, [
            "broker.id=0",
            `zookeeper.connect=${zkHost.address}:${ZK_PORT}`,
            `listeners=PLAINTEXT://${kafkaHost.address}:${KAFKA_PORT}`,
            `advertised.listeners=PLAINTEXT://${kafkaHost.address}:${KAFKA_PORT}`,
            `log.dirs=${DIR}/kafka-logs`,
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ].join("\n"));
        const kafkaPid = await startJava(kafkaHost, "kafka",
            `${SERVER_JVM} -Dlog4j.configuration=file:${DIR}/log4j.properties -cp '${jars.dir}/*' kafka.Kafka ${DIR}/server.properties`);
        assert.ok(kafkaPid > 1, "Kafka got a pid");
        await waitUntil("the Kafka broker did not start", async () =>
            (await exec(kafkaHost.name, `grep -q 'started (kafka.server.KafkaServer)' ${DIR}/kafka.out`)).code === 0 ||
            (await exec(kafkaHost.name, `kill -0 ${kafkaPid}`)).code !== 0, 120_000, () => tail(kafkaHost, `${DIR}/kafka.out`));
        assert.strictEqual((await exec(kafkaHost.name, `kill -0 ${kafkaPid}`)).code, 0,
            `the broker exited:\n${await tail(kafkaHost, `${DIR}/kafka.out`)}`);
        assert.match(await onHost(kafkaHost, `cat ${DIR}/kafka.out`), new RegExp(`Kafka version: ${KAFKA_VERSION.replace(/\./g, "\\.")}`));

        // The clients run on the ZooKeeper host, so every request crosses the bridge.
        const bootstrap = `--bootstrap-server ${kafkaHost.address}:${KAFKA_PORT}`;
        await kafkaTool(zkHost, "org.apache.kafka.tools.TopicCommand", `${bootstrap} --create --topic ${TOPIC} --partitions 1 --replication-factor 1`);
        const described = await kafkaTool(zkHost, "org.apache.kafka.tools.TopicCommand", `${bootstrap} --describe --topic ${TOPIC}`);
        assert.match(described, new RegExp(`Topic: ${TOPIC}\\s+TopicId: \\S+\\s+PartitionCount: 1\\s+ReplicationFactor: 1`));
        // The topic is registered in ZooKeeper, where a ZooKeeper-mode broker keeps its metadata.
        const zkTopics = await onHost(zkHost,
            `java ${TOOL_JVM} -Dlog4j.configuration=file:${DIR}/tools-log4j.properties -cp '${jars.dir}/*' ` +
            `org.apache.zookeeper.ZooKeeperMain -server ${zkHost.address}:${ZK_PORT} ls /brokers/topics 2>/dev/null`);
        assert.match(zkTopics, new RegExp(`\\[.*\\b${TOPIC}\\b.*\\]`));

        // Kafka 3.9's own CLI classes, as its bin/kafka-console-producer.sh and -consumer.sh run them.
        const message = `hello from ${zkHost.name} at ${Date.now()}`;
        await kafkaTool(zkHost, "kafka.tools.ConsoleProducer", `${bootstrap} --topic ${TOPIC} --producer-property acks=all`, message);
        const consumed = await kafkaTool(zkHost, "org.apache.kafka.tools.consumer.ConsoleConsumer",
            `${bootstrap} --topic ${TOPIC} --group sandbox-middleware-test --from-beginning --max-messages 1 --timeout-ms 60000`);
        assert.strictEqual(consumed.trim(), message);

        await stopByPidFile(kafkaHost, "kafka");
        await stopByPidFile(zkHost, "zookeeper");
        for (const [h, pid] of [[kafkaHost, kafkaPid], [zkHost, zkPid]] as const) {
            assert.notStrictEqual((await exec(h.name, `kill -0 ${pid}`)).code, 0, `${h.name}: pid ${pid} still runs`);
        }
        assert.match(await onHost(kafkaHost, `cat ${DIR}/kafka.out`), /shut down completed \(kafka\.server\.KafkaServer\)/);
    });

    it("runs a PostgreSQL 15 cluster from Debian's packages: initdb, pg_ctl start, SELECT 1, stop", async () => {
        await assertPortFree(pgHost, PG_PORT);
        const data = `${DIR}/pg/data`;
        const asPostgres = (cmd: string) => `runuser -u postgres -- ${cmd}`;
        await onHost(pgHost, `mkdir -p ${DIR}/pg && chown postgres:postgres ${DIR}/pg`);
        await onHost(pgHost, asPostgres(`${PG_BIN}/initdb -D ${data} -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >${DIR}/pg/initdb.log`));
        await onHost(pgHost, `echo 'host all postgres ${pgHost.address}/32 trust' >>${data}/pg_hba.conf`);
        await onHost(pgHost, asPostgres(
            `${PG_BIN}/pg_ctl -D ${data} -l ${DIR}/pg/server.log -w -t 60 ` +
            `-o "-p ${PG_PORT} -c listen_addresses=${pgHost.address} -k ${DIR}/pg -c shared_buffers=16MB" start`));
        const pid = Number((await onHost(pgHost, `head -1 ${data}/postmaster.pid`)).trim());
        assert.ok(pid > 1, "the postmaster wrote its pid");

        const psql = (sql: string) => onHost(pgHost, asPostgres(`${PG_BIN}/psql -h ${pgHost.address} -p ${PG_PORT} -U postgres -d postgres -AtX -c "${sql}"`));
        assert.strictEqual((await psql("SELECT 1")).trim(), "1");
        assert.match(await psql("SELECT version()"), /^PostgreSQL 15\./);
        assert.strictEqual((await psql("SHOW data_directory")).trim(), data);

        await onHost(pgHost, asPostgres(`${PG_BIN}/pg_ctl -D ${data} -m fast -w -t 60 stop`));
        assert.notStrictEqual((await exec(pgHost.name, `kill -0 ${pid}`)).code, 0, `the postmaster (pid ${pid}) still runs`);
        await assertPortFree(pgHost, PG_PORT);
    });
});
