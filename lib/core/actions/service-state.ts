/**
 * Bring a service to a wanted run state, remembering the state it was in so the inverse can
 * put it back.
 *
 * @module
 */
import { raw, sh } from "../shell";
import { checkSeconds, checkServiceName, Problems } from "../validate";
import { crashPoint, fail, makePrivateDir, note, Reversible, stepPath } from "./reversible";

/**
 * How a service is controlled on its host.
 * - `sysv`: `service NAME start|stop|status`
 * - `systemd`: `systemctl start|stop NAME`, `systemctl is-active --quiet NAME`
 * - `custom`: the operator's own commands. They are trusted shell, spliced into the script as
 *   written (never built from untrusted values); `status` must exit 0 exactly when the
 *   service is running.
 */
export type ServiceManager =
    | { readonly kind: "sysv" }
    | { readonly kind: "systemd" }
    | { readonly kind: "custom"; readonly start: string; readonly stop: string; readonly status: string };

/** Run state of a service. */
export type RunState = "running" | "stopped";

/** How long to wait for `status` to agree after a start or stop. */
export const DEFAULT_SETTLE_SECONDS = 30;

/** Arguments of {@link serviceState}. */
export interface ServiceStateArgs {
    /** Service name (see `checkServiceName`); also keys the marker of the previous state. */
    readonly service: string;
    /** The state the forward body brings the service to. */
    readonly state: RunState;
    /** How the service is controlled. */
    readonly manager: ServiceManager;
    /**
     * Seconds to wait for `status` to report the wanted state after start or stop.
     * @default - 30 seconds ({@link DEFAULT_SETTLE_SECONDS})
     */
    readonly settleSeconds?: number;
}

/** The shell commands that start, stop and query a service. */
export interface ServiceCommands {
    /** Starts the service. */
    readonly start: string;
    /** Stops the service. */
    readonly stop: string;
    /** Exits 0 exactly when the service is running. */
    readonly status: string;
}

type Commands = ServiceCommands;

/** The commands of `service` under `manager`: `service NAME start`, `systemctl start NAME`, or the custom ones. */
export function serviceCommands(service: string, manager: ServiceManager): Commands {
    switch (manager.kind) {
        case "sysv":
            return { start: sh`service ${service} start`, stop: sh`service ${service} stop`, status: sh`service ${service} status` };
        case "systemd":
            return { start: sh`systemctl start ${service}`, stop: sh`systemctl stop ${service}`, status: sh`systemctl is-active --quiet ${service}` };
        case "custom":
            return { start: manager.start, stop: manager.stop, status: manager.status };
    }
}

// Operator commands go between newlines so that a trailing comment cannot swallow the brace.
const block = (command: string) => `{\n${command}\n}`;

/** Fragment: sets `$mw_now` to the service's current state. */
const observe = (c: Commands) => `if ${block(c.status)} >/dev/null 2>&1; then mw_now=running; else mw_now=stopped; fi`;

/** Fragment: brings the service to the state named by `$mw_want` and waits for status to agree. */
function bringTo(service: string, c: Commands, settle: number): string {
    return sh`${raw(observe(c))}
if [ "$mw_now" != "$mw_want" ]; then
    if [ "$mw_want" = running ]; then
${raw(block(c.start))}
    else
${raw(block(c.stop))}
    fi
    mw_waited=0
    while :; do
        ${raw(observe(c))}
        if [ "$mw_now" = "$mw_want" ]; then break; fi
        if [ "$mw_waited" -ge ${settle} ]; then
            ${raw(fail(`service ${service} did not reach the wanted state within ${settle} s (status disagrees)`))}
        fi
        sleep 1
        mw_waited=$((mw_waited + 1))
    done
fi
printf 'middleware: service %s is %s\\n' ${service} "$mw_want"
`;
}

/**
 * Forward: records whether the service was running (once; a repeated run keeps the first
 * record) in a marker under the step's directory, then starts or stops it as wanted
 * (nothing when it already is). Inverse: brings the service back to the recorded state and
 * removes the marker; without a marker it does nothing.
 *
 * @throws ConfigError when the service name, custom commands or settle time are invalid
 */
export function serviceState(args: ServiceStateArgs): Reversible {
    const settle = args.settleSeconds ?? DEFAULT_SETTLE_SECONDS;
    const p = new Problems()
        .check("serviceState.service", args.service, checkServiceName)
        .check("serviceState.state", args.state, (s) => (s === "running" || s === "stopped" ? [] : ["must be running or stopped"]))
        .check("serviceState.settleSeconds", settle, checkSeconds(0));
    const kind = args.manager?.kind;
    if (kind !== "sysv" && kind !== "systemd" && kind !== "custom") {
        p.add("serviceState.manager.kind", "must be sysv, systemd or custom", kind);
    } else if (args.manager.kind === "custom") {
        for (const field of ["start", "stop", "status"] as const) {
            const command = args.manager[field];
            if (typeof command !== "string" || command.trim() === "" || command.includes("\0")) {
                p.add(`serviceState.manager.${field}`, "must be a non-empty shell command", command);
            }
        }
    }
    p.throwIfAny("serviceState");

    const c = serviceCommands(args.service, args.manager);
    const dir = stepPath("service");
    const marker = stepPath("service", args.service);
    const forward = sh`${raw(crashPoint(`service ${args.service} ${args.state}`))}${raw(makePrivateDir(dir))}
if [ ! -e ${raw(marker)} ]; then
    ${raw(observe(c))}
    printf '%s\\n' "$mw_now" >${raw(marker)}.tmp
    mv -f ${raw(marker)}.tmp ${raw(marker)}
fi
mw_want=${args.state}
${raw(bringTo(args.service, c, settle))}`;
    const inverse = sh`${raw(crashPoint(`service ${args.service} as before`))}if [ -e ${raw(marker)} ]; then
    mw_want=$(cat ${raw(marker)})
    case "$mw_want" in
        running|stopped) ;;
        *) ${raw(fail(`marker of service ${args.service} is corrupt; expected running or stopped`))} ;;
    esac
${raw(bringTo(args.service, c, settle))}
    rm -f ${raw(marker)}
else
    ${raw(note(`no recorded state for service ${args.service}; nothing to restore`))}
fi
`;
    return { forward, inverse };
}
