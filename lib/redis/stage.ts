/**
 * Staging: the managed instance is laid out beside the running legacy one (configs, init
 * scripts, keepalived, the password file), so that the switch window only stops, renames and
 * starts. The Redis binaries are the install step's (./install), so that a version change
 * touches nothing staged here.
 *
 * @module
 */
import { crashPoint, Reversible } from "../core/actions/reversible";
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
    // The topmost directory this step created, recorded before creating it: a step resumed after
    // a crash between the mkdir and the marker recognises the root as its own.
    const created = raw('"$MW_STEP_DIR/created"');
    const forward = sh`${raw(redisPreamble(r))}
${raw(readSecretFromStdin("MW_VRRP_PASSWORD"))}
case $MW_VRRP_PASSWORD in
    *[!A-Za-z0-9._+=@%-]*) echo 'middleware: the VRRP password may hold only letters, digits and ._+=@%-' >&2; exit 2 ;;
esac
if [ "\${#MW_VRRP_PASSWORD}" -gt 8 ]; then echo 'middleware: the VRRP password has more than 8 characters (keepalived uses 8)' >&2; exit 2; fi
${raw(crashPoint("start"))}
if [ -e ${m.root} ] && [ ! -e ${marker} ] &&
    ! { [ -s ${created} ] && case ${`${m.root}/`} in "$(cat ${created})"/*) true;; *) false;; esac; }; then
    echo ${`middleware: ${m.root} exists and was not made by this library`} >&2
    exit 1
fi
if [ ! -e ${m.root} ]; then
    # Remember the topmost directory this step creates, so that the inverse removes exactly it.
    mw_top=${m.root}
    while [ ! -e "$(dirname "$mw_top")" ]; do mw_top=$(dirname "$mw_top"); done
    mkdir -p "$MW_STEP_DIR" && printf '%s\n' "$mw_top" >${raw('"$MW_STEP_DIR/created.tmp"')} && mv -f ${raw('"$MW_STEP_DIR/created.tmp"')} ${created}
fi
${raw(crashPoint("root recorded"))}
mkdir -p ${m.root}
: >${marker}
mkdir -p ${[`${m.root}/versions`, `${m.root}/keepalived/sbin`, `${m.root}/conf`, `${m.root}/init.d`, m.dataDir, m.logDir, m.runDir]}
chmod 0700 ${m.dataDir}
cp -f ${r.source.keepalived} ${m.keepalived}
${raw(crashPoint("keepalived copied"))}
${raw(writeFile(m.config, redisConf(r, role, m), "0644"))}
${raw(writeKeepalivedConf(m.keepalivedConfig, keepalivedConf(r, role, host, m)))}
${raw(writeFile(m.check, checkScript(r, m), "0755"))}
${raw(writeFile(m.redisInit, redisInit(r, m), "0755"))}
${raw(writeFile(m.keepalivedInit, keepalivedInit(r, m), "0755"))}
(umask 077 && printf 'requirepass "%s"\\nmasterauth "%s"\\n' "$MW_PASSWORD" "$MW_PASSWORD" >${`${m.authConfig}.mw-tmp`})
mv -f ${`${m.authConfig}.mw-tmp`} ${m.authConfig}
${raw(crashPoint("end"))}
echo ${`middleware: staged the managed ${role} under ${m.root}`}
`;
    // The tree is renamed aside before it is removed: rm -rf may remove the marker first, and a
    // crash then would leave a tree that is neither ours nor free. The rename is atomic.
    const inverse = sh`${raw(crashPoint("start"))}
mw_top=${m.root}
[ ! -s ${created} ] || mw_top=$(cat ${created})
case ${`${m.root}/`} in "$mw_top"/*) ;; *) echo "middleware: refusing to remove $mw_top: not an ancestor of the managed root" >&2; exit 1;; esac
mw_tomb="$mw_top.mw-removing"
if [ -e ${marker} ]; then
    rm -rf -- "$mw_tomb"
    mv -- "$mw_top" "$mw_tomb"
fi
${raw(crashPoint("moved aside"))}
if [ -e "$mw_tomb" ]; then
    rm -rf -- "$mw_tomb"
    echo "middleware: removed $mw_top"
fi
${raw(crashPoint("end"))}
rm -f ${created}
`;
    return { forward, inverse };
}
