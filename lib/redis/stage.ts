/**
 * Staging: the managed instance is laid out beside the running legacy one (configs, init
 * scripts, keepalived, the password file), so that the switch window only stops, renames and
 * starts. The Redis binaries are the install step's (./install), so that a version change
 * touches nothing staged here.
 *
 * @module
 */
import type { Reversible } from "../core/actions/reversible";
import { readSecretFromStdin } from "../core/script";
import { raw, sh } from "../core/shell";
import type { ResolvedRedisHa } from "./args";
import { checkScript, keepalivedConf, keepalivedInit, managedPaths, redisConf, redisInit, Role, writeFile, writeKeepalivedConf } from "./files";
import { redisPreamble } from "./redis-sh";

/** The file that marks a managed root as made by this library (so rollback may remove it). */
export const MANAGED_MARKER = ".managed-by-pulumi-middleware";

/**
 * Forward: lays out the managed instance. Inverse: removes the managed root this step made.
 * Its stdin holds the pair's password, then the VRRP password.
 */
export function stage(r: ResolvedRedisHa, role: Role, host: string): Reversible {
    const m = managedPaths(r.managedRoot);
    const marker = `${m.root}/${MANAGED_MARKER}`;
    const forward = sh`${raw(redisPreamble(r))}
${raw(readSecretFromStdin("MW_VRRP_PASSWORD"))}
case $MW_VRRP_PASSWORD in
    *[!A-Za-z0-9._+=@%-]*) echo 'middleware: the VRRP password may hold only letters, digits and ._+=@%-' >&2; exit 2 ;;
esac
if [ "\${#MW_VRRP_PASSWORD}" -gt 8 ]; then echo 'middleware: the VRRP password has more than 8 characters (keepalived uses 8)' >&2; exit 2; fi
if [ -e ${m.root} ] && [ ! -e ${marker} ]; then
    echo ${`middleware: ${m.root} exists and was not made by this library`} >&2
    exit 1
fi
if [ ! -e ${m.root} ]; then
    # Remember the topmost directory this step creates, so that the inverse removes exactly it.
    mw_top=${m.root}
    while [ ! -e "$(dirname "$mw_top")" ]; do mw_top=$(dirname "$mw_top"); done
    mkdir -p "$MW_STEP_DIR" && printf '%s\n' "$mw_top" >"$MW_STEP_DIR/created"
fi
mkdir -p ${m.root}
: >${marker}
mkdir -p ${[`${m.root}/versions`, `${m.root}/keepalived/sbin`, `${m.root}/conf`, `${m.root}/init.d`, m.dataDir, m.logDir, m.runDir]}
chmod 0700 ${m.dataDir}
cp -f ${r.source.keepalived} ${m.keepalived}
${raw(writeFile(m.config, redisConf(r, role, m), "0644"))}
${raw(writeKeepalivedConf(m.keepalivedConfig, keepalivedConf(r, role, host, m)))}
${raw(writeFile(m.check, checkScript(r, m), "0755"))}
${raw(writeFile(m.redisInit, redisInit(r, m), "0755"))}
${raw(writeFile(m.keepalivedInit, keepalivedInit(r, m), "0755"))}
(umask 077 && printf 'requirepass "%s"\\nmasterauth "%s"\\n' "$MW_PASSWORD" "$MW_PASSWORD" >${`${m.authConfig}.mw-tmp`})
mv -f ${`${m.authConfig}.mw-tmp`} ${m.authConfig}
echo ${`middleware: staged the managed ${role} under ${m.root}`}
`;
    const inverse = sh`if [ -e ${marker} ]; then
    mw_top=${m.root}
    [ ! -s "$MW_STEP_DIR/created" ] || mw_top=$(cat "$MW_STEP_DIR/created")
    case ${`${m.root}/`} in "$mw_top"/*) ;; *) echo "middleware: refusing to remove $mw_top: not an ancestor of the managed root" >&2; exit 1;; esac
    rm -rf -- "$mw_top"
    rm -f "$MW_STEP_DIR/created"
    echo "middleware: removed $mw_top"
fi
`;
    return { forward, inverse };
}
