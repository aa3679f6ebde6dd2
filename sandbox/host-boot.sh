#!/bin/sh
# Boots one sandbox host. Runs as the only child of tini (pid 1 of the host's fresh pid,
# mount, UTS and IPC namespaces, inside its network namespace); see host-process.ts.
# Usage: host-boot.sh HOST HOST_STATE_DIR SSHD_CONFIG   (env SANDBOX_OWN_DIRS: paths to bind)
set -eu
host=$1
dir=$2
sshd_config=$3
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

for d in $SANDBOX_OWN_DIRS; do
    mount --bind "$dir/fs$d" "$d"
done
mount --bind "$dir/app" /app
# A fresh /run per boot, like a real host: stale pid files vanish with a crash.
mount -t tmpfs -o mode=0755,size=64m,nosuid,nodev "sandbox-$host-run" /run
mkdir -p /run/sshd /run/lock
chmod 0755 /run/sshd
chmod 1777 /run/lock
hostname "$host"
# Nor does a rebooted host keep the addresses its daemons added (a VIP keepalived held when it
# crashed): only its configured address stays.
ip -4 addr flush dev eth0 secondary 2>/dev/null || :

/usr/sbin/sshd -f "$sshd_config" -E /var/log/sshd.log

# Services the site enabled, in order, as init would start them at boot.
if [ -f "$dir/boot-services" ]; then
    while read -r svc; do
        if [ -n "$svc" ] && [ -x "/etc/init.d/$svc" ]; then
            service "$svc" start || echo "boot: service $svc failed to start" >&2
        fi
    done < "$dir/boot-services"
fi

touch /run/sandbox-ready
exec sleep infinity
