/**
 * Accepting the migration for good (`finalize`): the brokers' inter-broker protocol raised to
 * the managed version in a second roll, then the legacy backups removed. Neither has an inverse:
 * once the protocol is raised the legacy brokers cannot read what the cluster writes, which is
 * why every step of a finalized site is protected from `destroy`.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { raw, sh } from "../core/shell";
import { BrokerArgs, protocolOf, ResolvedKafkaZk } from "./args";
import { managedPaths } from "./files";
import { kafkaPreamble } from "./kafka-sh";

/** Raise one broker's `inter.broker.protocol.version` to the managed version and restart it behind the same gates as its roll. */
export function raiseProtocol(r: ResolvedKafkaZk, broker: BrokerArgs): Reversible {
    const m = managedPaths(r);
    const id = String(broker.brokerId);
    const protocol = protocolOf(r.version);
    const service = r.legacy.kafkaService;
    const forward = sh`${raw(kafkaPreamble(r))}
# A broker a crashed earlier run already stopped is one short of healthy: check only a registered one.
case ",$(mw_broker_ids ${m.kafkaLibs})," in
*,${raw(id)},*) mw_wait_until ${r.waitSeconds.broker} ${`no partition under-replicated or offline before broker ${id} restarts`} mw_partitions_healthy ${m.kafkaLibs} ;;
esac
sed -e '/^[[:space:]]*log\\.message\\.format\\.version[[:space:]]*[=:]/d' \\
    -e ${`s/^[[:space:]]*inter\\.broker\\.protocol\\.version[[:space:]]*[=:].*/inter.broker.protocol.version=${protocol}/`} \\
    ${m.serverProperties} >${`${m.serverProperties}.mw-tmp`}
mv -f ${`${m.serverProperties}.mw-tmp`} ${m.serverProperties}
grep -qx ${`inter.broker.protocol.version=${protocol}`} ${m.serverProperties} || { echo ${`middleware: ${m.serverProperties} does not set inter.broker.protocol.version=${protocol}`} >&2; exit 1; }
service ${service} stop
service ${service} start
mw_wait_until ${r.waitSeconds.broker} ${`broker ${id} registered and no partition under-replicated or offline`} mw_alive_and ${service} mw_broker_serving ${m.kafkaLibs} ${id}
mw_note ${`broker ${id} runs inter.broker.protocol.version=${protocol}`}
`;
    return { forward, inverse: "" };
}

/** Remove the legacy installs and init scripts renamed to `_bak` on one host (irreversible). */
export function removeBackups(paths: readonly string[]): Reversible {
    const forward = sh`for p in ${paths}; do
    if [ -e "$p"_bak ] || [ -L "$p"_bak ]; then rm -rf -- "$p"_bak; echo "middleware: removed $p"_bak; fi
done
`;
    return { forward, inverse: "" };
}
