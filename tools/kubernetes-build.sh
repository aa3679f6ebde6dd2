#!/usr/bin/env bash
# Builds and caches what a Kubernetes site runs on, and prints as its last line the folder that
# holds the cluster binaries. Warm cache: checks the binaries and prints the folder (well under a
# second).
#
#   kube-apiserver, kube-controller-manager,   k8s.io/kubernetes (Go module proxy) at
#   kube-scheduler, kubelet, kubectl           KUBERNETES_VERSION, through a wrapper module
#   pulumi-resource-kubernetes                 the provider behind @pulumi/kubernetes, at its
#                                              package-lock version (Go module proxy)
#
# Usage: tools/kubernetes-build.sh [--cluster-only]
#   --cluster-only   builds the cluster binaries only, not the provider plugin (5-13 min cold
#                    on 2 cores; npm run prerequisites runs this)
#
# Environment:
#   PULUMI_MIDDLEWARE_CACHE   where binaries are cached (default ~/.cache/pulumi-middleware);
#                             everything goes under its kubernetes/ folder, one per version
#   PULUMI_HOME               where the provider plugin is installed (default .pulumi/home in the
#                             project, where tools/engine.ts runs the engine)
#   KUBERNETES_BUILD_JOBS     Go's -p, packages built at once (default 1: the build takes one
#                             core and leaves the other to whatever else runs)
# Go builds run under `nice -n 19`, so that the build takes idle CPU only. Go's build cache makes
# an interrupted build resume.
set -euo pipefail

KUBERNETES_VERSION=1.34.4
# The provider module is tagged only as a pseudo-version on the proxy; this one is the commit
# of the 4.24.1 release (its 480 resource types match npm @pulumi/kubernetes 4.24.1).
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
PROVIDER_SDK_VERSION=v4.24.0
# In build order: kubectl, the scheduler and the kubelet reuse most of what the API server compiled.
CLUSTER_BINARIES=(kube-apiserver kubectl kube-scheduler kubelet kube-controller-manager)

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[kubernetes] %s\n' "$*" >&2; }
die() { printf '[kubernetes] error: %s\n' "$*" >&2; exit 1; }

cluster_only=false
[ "${1:-}" = --cluster-only ] && cluster_only=true

command -v go >/dev/null || die "go is not installed; this machine kind ships Go (1.25 or newer is needed)"
command -v node >/dev/null || die "node is not installed"

locked() {
  local v
  v=$(node -p "(require('$here/package-lock.json').packages['node_modules/$1'] || {}).version") ||
    die "cannot read the $1 version from package-lock.json"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$1 in package-lock.json has version '$v'; expected x.y.z (npm ci first)"
  echo "$v"
}
provider_version=$(locked @pulumi/kubernetes)

cache=${PULUMI_MIDDLEWARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-middleware}/kubernetes
cluster="$cache/kubernetes-v$KUBERNETES_VERSION"
provider="$cache/pulumi-resource-kubernetes-v$provider_version"

cluster_ready() {
  local name
  for name in "${CLUSTER_BINARIES[@]}"; do [ -x "$cluster/bin/$name" ] || return 1; done
}
provider_ready() { $cluster_only || [ -x "$provider/pulumi-resource-kubernetes" ]; }

# install_plugin: the provider into PULUMI_HOME, where the engine loads it without a download.
install_plugin() {
  $cluster_only && return 0
  local home=${PULUMI_HOME:-$here/.pulumi/home} file="$provider/pulumi-resource-kubernetes" pulumi_bin
  local installed="$home/plugins/resource-kubernetes-v$provider_version/pulumi-resource-kubernetes"
  cmp -s "$file" "$installed" 2>/dev/null && return 0
  pulumi_bin=$(bash "$here/tools/toolchain.sh" | tail -n 1) || die "the Pulumi toolchain did not build (tools/toolchain.sh)"
  log "installing the resource plugin kubernetes $provider_version into $home"
  PULUMI_HOME=$home "$pulumi_bin/pulumi" plugin install resource kubernetes "$provider_version" --file "$file" --reinstall >/dev/null ||
    die "cannot install the resource plugin kubernetes $provider_version into $home"
}

finish() {
  install_plugin
  echo "$cluster/bin"
}

if cluster_ready && provider_ready; then finish; exit 0; fi

mkdir -p "$cache"
# with_lock KIND READY BUILD: one build of KIND at a time per cache (the sandbox's --cluster-only
# does not wait for a provider build); the lock file names the holder for whoever waits.
with_lock() {
  local kind=$1 ready=$2 build=$3 lock="$cache/.lock-$1"
  (
    exec 9<>"$lock"
    if ! flock -n 9; then
      log "waiting for another build of the $kind to finish (pid $(head -n 1 "$lock" 2>/dev/null || echo '?'))"
      flock 9
    fi
    printf '%s\n' "$BASHPID" >"$lock"
    $ready || $build
  )
}

jobs=${KUBERNETES_BUILD_JOBS:-1}
case $jobs in '' | *[!0-9]* | 0) die "KUBERNETES_BUILD_JOBS must be a positive number of packages (got \"$jobs\")" ;; esac
export GOTOOLCHAIN=local GOWORK=off GOFLAGS="-mod=mod -buildvcs=false -p=$jobs" CGO_ENABLED=0
work="$cache/work"
mkdir -p "$work"
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# Progress from `go build -v` (one package per line) without flooding the output.
# srand() returns the previous seed, the time of the last call: seconds since start in any awk.
progress() {
  awk -v what="$1" 'BEGIN { srand(); t0 = srand() }
    { n++; if (n % 100 == 0) { srand(); printf "[kubernetes] %s: %d packages compiled (%ds)\n", what, n, srand() - t0 > "/dev/stderr"; fflush() } }
    END { printf "[kubernetes] %s: %d packages compiled\n", what, n > "/dev/stderr" }'
}
quiet_downloads() {
  awk -v what="$1" '
    /^go: downloading/ { n++; if (n % 50 == 0) { printf "[kubernetes] %s: %d modules downloaded\n", what, n > "/dev/stderr"; fflush() } next }
    { print "[kubernetes]   " $0 > "/dev/stderr" }'
}

# compile NAME DIR PKG OUT LDFLAGS: builds PKG of the module in DIR into OUT/NAME.
compile() {
  local name=$1 dir=$2 pkg=$3 out=$4 ldflags=$5 t
  t=$(date +%s)
  log "$name: compiling (nice 19, $jobs package(s) at a time)"
  if ! (cd "$dir" && nice -n 19 go build -v -trimpath -ldflags "-s -w $ldflags" -o "$out/$name" "$pkg") 2>&1 |
      tee "$work/$name.log" | progress "$name"; then
    tail -n 30 "$work/$name.log" >&2
    die "$name: go build failed (the lines above are the end of its output)"
  fi
  [ -x "$out/$name" ] || die "$name: go build wrote no binary"
  log "$name: built in $(elapsed "$t") ($(du -m "$out/$name" | cut -f1) MB)"
}

# The staging modules (k8s.io/api, ...) are replaced by ./staging paths in k8s.io/kubernetes'
# go.mod, which a dependant does not inherit: the wrapper replaces each with its v0 release.
build_cluster() {
  local dir="$work/kubernetes" gomod staging name pkg version_pkg=k8s.io/component-base/version
  mkdir -p "$dir"
  log "kubernetes v$KUBERNETES_VERSION: resolving modules"
  gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
  staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod")
  [ -n "$staging" ] || die "no staging modules found in $gomod"
  {
    printf 'module toolchain/kubernetes\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$KUBERNETES_VERSION"
    for name in $staging; do printf '\t%s => %s v0.%s\n' "$name" "$name" "${KUBERNETES_VERSION#1.}"; done
    printf ')\n'
  } >"$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for name in "${CLUSTER_BINARIES[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$name"; done
    printf ')\n'
  } >"$dir/tools.go"
  (cd "$dir" && go mod tidy) 2>&1 | quiet_downloads kubernetes
  rm -rf "$cluster.tmp" && mkdir -p "$cluster.tmp/bin"
  for name in "${CLUSTER_BINARIES[@]}"; do
    pkg="k8s.io/kubernetes/cmd/$name"
    compile "$name" "$dir" "$pkg" "$cluster.tmp/bin" \
      "-X $version_pkg.gitVersion=v$KUBERNETES_VERSION -X $version_pkg.gitMajor=${KUBERNETES_VERSION%%.*} -X $version_pkg.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X $version_pkg.gitTreeState=clean"
  done
  "$cluster.tmp/bin/kubectl" version --client 2>/dev/null | grep -qF "v$KUBERNETES_VERSION" ||
    die "built, but kubectl does not report v$KUBERNETES_VERSION"
  rm -rf "$cluster" && mv "$cluster.tmp" "$cluster"
  rm -rf "$dir"
}

# The provider's go.mod replaces its sdk module with ../sdk, so `go install` refuses it: the
# command's folder is copied into a wrapper module that takes the provider from the proxy.
# main.go embeds the schema with the release version, which generate.go writes.
build_provider() {
  local dir="$work/pulumi-resource-kubernetes" src f t
  rm -rf "$dir" && mkdir -p "$dir"
  log "pulumi-resource-kubernetes $provider_version: resolving modules"
  src=$(go mod download -json "$PROVIDER_MODULE@$PROVIDER_MODULE_VERSION" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
  for f in main.go generate.go schema.json terraform-mapping.json; do
    cp "$src/cmd/pulumi-resource-kubernetes/$f" "$dir/$f"
  done
  cp "$src/go.sum" "$dir/go.sum"
  chmod u+w "$dir"/*
  cat >"$dir/go.mod" <<EOF
module toolchain/pulumi-resource-kubernetes

go 1.24.7

require $PROVIDER_MODULE $PROVIDER_MODULE_VERSION

replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 $PROVIDER_SDK_VERSION
EOF
  (cd "$dir" && go mod tidy) 2>&1 | quiet_downloads pulumi-resource-kubernetes
  t=$(date +%s)
  log "pulumi-resource-kubernetes: generating the versioned schema (nice 19)"
  (cd "$dir" && VERSION=$provider_version nice -n 19 go run generate.go) 2>&1 | sed 's/^/[kubernetes]   /' >&2
  [ -s "$dir/schema-embed.json" ] || die "pulumi-resource-kubernetes: generate.go wrote no schema-embed.json"
  log "pulumi-resource-kubernetes: schema generated in $(elapsed "$t")"
  rm -rf "$provider.tmp" && mkdir -p "$provider.tmp"
  compile pulumi-resource-kubernetes "$dir" . "$provider.tmp" \
    "-X $PROVIDER_MODULE/pkg/version.Version=$provider_version"
  rm -rf "$provider" && mv "$provider.tmp" "$provider"
  rm -rf "$dir"
}

log "Kubernetes v$KUBERNETES_VERSION$($cluster_only || echo " and pulumi-resource-kubernetes $provider_version") into $cache"
log "(cold on 2 cores: 5-13 minutes for the cluster binaries$($cluster_only || echo ", up to 72 more for the provider"); later runs reuse the cache)"
cluster_ready || with_lock cluster cluster_ready build_cluster
provider_ready || with_lock provider provider_ready build_provider
log "done in $(elapsed "$start")"
finish
