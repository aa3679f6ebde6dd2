import * as fs from "fs";
import { down, exec, fault, formatStatus, inventory, status, up } from "./index";
import { parseFaultKind } from "./faults";
import { installPrerequisites, missingPrerequisites, missingPrerequisitesError } from "./prerequisites";
import { progress } from "./progress";
import { SITES } from "./sites";
import { ensureKubernetesPrerequisites, missingKubernetesPrerequisites } from "./sites/kubernetes-build";
import { THREESCALE_SITE } from "./sites/threescale";
import { DEBIAN_REDIS_VERSION, redisVersions } from "./sites/redis-versions";

const USAGE = `usage: npm run sandbox -- COMMAND
  up [--hosts N] [--site NAME] [--keys N] [--seed N] [--redis-version V] [--postgres-version 15.18|15.17] [--authorize FILE.pub]
                      create the hosts (and lay out a site), or bring them back to working order;
                      --site legacy-postgres: PostgreSQL 15 primary on h1 (about 300 MB seeded; --keys N orders), h2 h3 empty (--hosts 3)
                      --site legacy-kafka: Kafka 2.3.0 + ZooKeeper 3.5.6 on h1-h3 (--hosts 3; --keys N seeded messages)
                      --site legacy-fastdfs: FastDFS trackers, storages and nginx on h1 h2 (about 2000 files seeded; --keys N files), h3 empty (--hosts 3)
                      --site 3scale: a one-node Kubernetes cluster on h1 with 3scale's Redis, zync and dependants
                      as pods, and backup artefacts (needs prerequisites --kubernetes: a 12-20 minute build cold)
                      --redis-version: legacy-redis on ${redisVersions().join(", ")} (default ${DEBIAN_REDIS_VERSION}, Debian's)
                      (installs missing prerequisites first, as the next command does)
  prerequisites [--check] [--kubernetes]
                      install what the sandbox and the tests need: Debian packages, the Kafka and
                      ZooKeeper jars and the Redis 6.2 builds from Maven Central, PostgreSQL builds,
                      FastDFS and nginx built from the vendored sources, and what site 3scale needs
                      (npm run prerequisites; the Kubernetes build takes 12-20 minutes cold);
                      --check: only say what is missing;
                      --kubernetes: only what site 3scale needs (Debian's etcd, containerd, runc, CNI
                      plugins, busybox, iptables; Kubernetes and its Pulumi provider plugin built by
                      tools/kubernetes-build.sh)
  down [--purge]      remove everything the sandbox made (--purge: its keys too)
  status [--json]     hosts, links, disks, services, VIP holder
  inventory           JSON for stacks and tests: hosts, keys, VIP, site facts
  exec HOST CMD...    run a shell command on a host
  fault HOST KIND     KIND: down | up | cut | heal | fill-disk | free-disk
sites: ${SITES.map((s) => s.name).join(", ")}
env: SANDBOX_DIR (state dir), SANDBOX_SUBNET (a /24), SANDBOX_APP_SIZE (each host's /app)`;

/** Splits `--name value` options from positional words; unknown options are errors. */
function parseOptions(args: string[], known: readonly string[], flags: readonly string[] = []) {
    const opts: Record<string, string> = {};
    const words: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith("--")) {
            words.push(a);
            continue;
        }
        const name = a.slice(2);
        if (flags.includes(name)) {
            opts[name] = "true";
        } else if (known.includes(name) && i + 1 < args.length) {
            opts[name] = args[++i];
        } else {
            throw new Error(`unknown or incomplete option ${a}\n${USAGE}`);
        }
    }
    return { opts, words };
}

function wholeNumber(name: string, value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`--${name} ${value}: expected a whole number`);
    return Number(value);
}

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    switch (command) {
        case "up": {
            const { opts } = parseOptions(rest, ["hosts", "site", "keys", "seed", "redis-version", "postgres-version", "authorize"]);
            const started = Date.now();
            if (opts.site === THREESCALE_SITE) await ensureKubernetesPrerequisites();
            const inv = await up({
                hosts: wholeNumber("hosts", opts.hosts),
                site: opts.site,
                keys: opts.authorize ? [fs.readFileSync(opts.authorize, "utf8")] : undefined,
                dataset: { keys: wholeNumber("keys", opts.keys), seed: wholeNumber("seed", opts.seed) },
                redisVersion: opts["redis-version"],
                postgresVersion: opts["postgres-version"],
                installPrerequisites: true,
            });
            process.stderr.write(`sandbox: up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${inv.hosts.map((h) => `${h.name}=${h.address}`).join(" ")}\n`);
            return 0;
        }
        case "prerequisites": {
            const { opts } = parseOptions(rest, [], ["check", "kubernetes"]);
            if (opts.kubernetes === "true") {
                if (opts.check !== "true") await ensureKubernetesPrerequisites();
                const missing = await missingKubernetesPrerequisites();
                if (missing.length) throw missingPrerequisitesError(missing);
                progress("prerequisites of site 3scale: all present");
                return 0;
            }
            if (opts.check !== "true") {
                await installPrerequisites();
                await ensureKubernetesPrerequisites();
                return 0;
            }
            const missing = [...(await missingPrerequisites()), ...(await missingKubernetesPrerequisites())];
            if (missing.length) throw missingPrerequisitesError(missing);
            progress("prerequisites: all present");
            return 0;
        }
        case "down": {
            const { opts } = parseOptions(rest, [], ["purge"]);
            await down({ purge: opts.purge === "true" });
            return 0;
        }
        case "status": {
            const { opts } = parseOptions(rest, [], ["json"]);
            const st = await status();
            process.stdout.write(opts.json ? JSON.stringify(st ?? null, null, 2) + "\n" : formatStatus(st));
            return 0;
        }
        case "inventory":
            process.stdout.write(JSON.stringify(inventory(), null, 2) + "\n");
            return 0;
        case "exec": {
            const [host, ...cmd] = rest;
            if (!host || cmd.length === 0) throw new Error(USAGE);
            const r = await exec(host, cmd.join(" "));
            process.stdout.write(r.stdout);
            process.stderr.write(r.stderr);
            return r.code;
        }
        case "fault": {
            const [host, kind] = rest;
            if (!host || !kind || rest.length !== 2) throw new Error(USAGE);
            await fault(host, parseFaultKind(kind));
            return 0;
        }
        case "help":
        case "--help":
        case undefined:
            process.stdout.write(USAGE + "\n");
            return command ? 0 : 2;
        default:
            throw new Error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    }
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
        process.stderr.write(`sandbox: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
