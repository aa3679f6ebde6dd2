/**
 * Install something unless it is already there, and uninstall it on rollback only if this
 * step installed it.
 *
 * @module
 */
import { createHash } from "crypto";
import { raw, sh } from "../shell";
import { checkPackageName, Problems } from "../validate";
import { fail, makePrivateDir, note, Reversible, stepPath } from "./reversible";

/** Arguments of {@link install}. */
export interface InstallArgs {
    /**
     * Shell that installs. Trusted: written by the operator and spliced into the script as is,
     * so it must never be built from untrusted values (quote those with `sh`).
     */
    readonly install: string;
    /** Shell that uninstalls what `install` installed. Trusted, like `install`. */
    readonly uninstall: string;
    /** Shell that exits 0 exactly when the thing is installed. Trusted, like `install`. */
    readonly check: string;
    /**
     * Names the marker (letters, digits, `_ . + -`) that records "this step installed it", so a step can hold several installs.
     * @default - a short hash of `install`
     */
    readonly id?: string;
}

const block = (command: string) => `{\n${command}\n}`;

/**
 * Forward: when `check` fails, records a marker under the step's directory, runs `install`
 * and fails unless `check` passes afterwards. When `check` already passes and there is no
 * marker, the thing was there before the step: nothing is done and nothing is recorded.
 * The marker is written before installing, so a run interrupted half way is still undone.
 *
 * Inverse: runs `uninstall` and removes the marker only when the marker exists.
 *
 * @throws ConfigError when a command is empty or the id is not a safe file name
 */
export function install(args: InstallArgs): Reversible {
    const p = new Problems();
    for (const field of ["install", "uninstall", "check"] as const) {
        const command = args[field];
        if (typeof command !== "string" || command.trim() === "" || command.includes("\0")) {
            p.add(`install.${field}`, "must be a non-empty shell command", command);
        }
    }
    // A package name is also a safe file name, and ids are often derived from one.
    p.checkOptional("install.id", args.id, checkPackageName).throwIfAny("install");
    const id = args.id ?? createHash("sha256").update(args.install).digest("hex").slice(0, 12);
    const marker = stepPath("install", id);
    const check = `${block(args.check)} >/dev/null 2>&1`;

    const forward = sh`if [ -e ${raw(marker)} ] || ! ${raw(check)}; then
    ${raw(makePrivateDir(stepPath("install")))}
    : >${raw(marker)}
    if ! ${raw(check)}; then
${raw(block(args.install))}
        ${raw(check)} || ${raw(fail(`installed ${id}, but its check still fails`))}
    fi
    ${raw(note(`${id} is installed by this step`))}
else
    ${raw(note(`${id} was already installed; it is left alone and will not be uninstalled`))}
fi
`;
    const inverse = sh`if [ -e ${raw(marker)} ]; then
${raw(block(args.uninstall))}
    rm -f ${raw(marker)}
    ${raw(note(`uninstalled ${id}`))}
else
    ${raw(note(`${id} was not installed by this step; nothing to uninstall`))}
fi
`;
    return { forward, inverse };
}

/** Package managers {@link installPackage} knows. */
export type PackageManager = "apt" | "yum";

/** Arguments of {@link installPackage}. */
export interface InstallPackageArgs {
    /** Package name (see `checkPackageName`). */
    readonly name: string;
    /** `apt` (Debian, Ubuntu) or `yum` (RHEL, CentOS). */
    readonly manager: PackageManager;
}

/**
 * {@link install} for a distribution package: apt (`dpkg-query` to check, `apt-get install`,
 * `apt-get remove` keeping config files) or yum (`rpm -q`, `yum install`, `yum remove`).
 *
 * @throws ConfigError when the name or manager is invalid
 */
export function installPackage(args: InstallPackageArgs): Reversible {
    const p = new Problems().check("installPackage.name", args.name, checkPackageName);
    if (args.manager !== "apt" && args.manager !== "yum") p.add("installPackage.manager", "must be apt or yum", args.manager);
    p.throwIfAny("installPackage");
    const name = args.name;
    const id = `package-${name}`;
    if (args.manager === "apt") {
        return install({
            id,
            check: sh`dpkg-query -W -f='\${Status}' ${name} 2>/dev/null | grep -q 'install ok installed'`,
            install: sh`DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${name}`,
            uninstall: sh`DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ${name}`,
        });
    }
    return install({ id, check: sh`rpm -q ${name}`, install: sh`yum install -y -q ${name}`, uninstall: sh`yum remove -y -q ${name}` });
}
