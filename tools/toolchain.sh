#!/usr/bin/env bash
# Builds the Pulumi engine this project runs on, from Go modules only, and prints as its last
# line the directory that holds the binaries. Warm cache: prints the directory and exits.
#
#   pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, at the version of
#                                   @pulumi/pulumi in package-lock.json
#   pulumi-language-nodejs          the Node language host (see LANGUAGE_HOST_VERSION)
#   pulumi-resource-pulumi-nodejs   the launcher of Node dynamic providers, from the same sdk module
#
# Environment: PULUMI_MIDDLEWARE_CACHE (default ~/.cache/pulumi-middleware) is where binaries are
# cached, keyed by version. Nothing is fetched except through the Go module proxy.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

# The Go module proxy reachable here refuses github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
# at every version (403). v3.68.0 is the newest release in which the Node language host still lived
# inside the sdk/v3 module, which the proxy serves.
LANGUAGE_HOST_VERSION=3.68.0

command -v go >/dev/null || die "go is not installed; this machine kind ships Go (1.25 or newer is needed)"
command -v node >/dev/null || die "node is not installed"
[ -f "$here/package-lock.json" ] || die "package-lock.json is missing in $here (run npm install)"

version=$(node -p "require('$here/package-lock.json').packages['node_modules/@pulumi/pulumi'].version") \
  || die "cannot read the @pulumi/pulumi version from package-lock.json"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "@pulumi/pulumi in package-lock.json has version '$version'; expected x.y.z"

cache=${PULUMI_MIDDLEWARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-middleware}
key="pulumi-v${version}_nodejs-host-v${LANGUAGE_HOST_VERSION}"
bin="$cache/toolchain/$key/bin"

warm() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-resource-pulumi-nodejs" ] &&
    [ "$("$bin/pulumi" version 2>/dev/null)" = "v$version" ]
}

if warm; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/toolchain"
exec 9>"$cache/toolchain/.lock"
flock -n 9 || { log "waiting for another toolchain build to finish"; flock 9; }
if warm; then echo "$bin"; exit 0; fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
work="$cache/toolchain/$key/build"
rm -rf "$work" "$bin.tmp"
mkdir -p "$work" "$bin.tmp"

# Shows progress from `go build -v` (one package name per line) without flooding the output.
progress() {
  awk -v what="$1" '{ n++; if (n % 100 == 0) { printf "[toolchain] %s: %d packages compiled\n", what, n > "/dev/stderr"; fflush() } }
    END { printf "[toolchain] %s: %d packages compiled\n", what, n > "/dev/stderr" }'
}

# Builds Go package $2 into $bin.tmp/$1 from a wrapper module requiring $3 (module@version) with
# the replace lines in $4; the wrapper repeats the module's third-party replaces, which `go install`
# would refuse.
build() {
  local name=$1 pkg=$2 requires=$3 replaces=$4 goversion=$5 ldflags=${6:-}
  local dir="$work/$name"
  mkdir -p "$dir"
  printf 'module toolchain/%s\n\ngo %s\n\nrequire (\n%s\n)\n\n%s\n' "$name" "$goversion" "$requires" "$replaces" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$dir/tools.go"
  log "$name: resolving modules"
  (cd "$dir" && go mod tidy) 2>&1 | awk -v what="$name" '
    /^go: downloading/ { n++; if (n % 50 == 0) { printf "[toolchain] %s: %d modules downloaded\n", what, n > "/dev/stderr"; fflush() } next }
    { print "[toolchain]   " $0 > "/dev/stderr" }'
  [ -s "$dir/go.sum" ] || die "$name: resolving modules failed (see output above)"
  log "$name: compiling $pkg"
  (cd "$dir" && go build -v -ldflags "-s -w $ldflags" -o "$bin.tmp/$name" "$pkg") 2>&1 | progress "$name"
  [ -x "$bin.tmp/$name" ] || die "$name: build failed (see output above)"
}

start=$(date +%s)
log "building Pulumi v$version into $bin (a cold build takes about 7 minutes on 2 cores)"

cli_go=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" | node -e \
  'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=require("fs").readFileSync(JSON.parse(s).GoMod,"utf8").match(/^go (\S+)/m);console.log(m?m[1]:"1.22")})')
build pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "$(printf '\tgithub.com/pulumi/pulumi/pkg/v3 v%s\n\tgithub.com/pulumi/pulumi/sdk/v3 v%s' "$version" "$version")" \
  'replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e' \
  "$cli_go" "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"

build pulumi-language-nodejs github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
  "$(printf '\tgithub.com/pulumi/pulumi/sdk/v3 v%s' "$LANGUAGE_HOST_VERSION")" \
  'replace golang.org/x/text => golang.org/x/text v0.3.6' \
  1.18 "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGUAGE_HOST_VERSION"

sdk_dir=$(cd "$work/pulumi" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin.tmp/pulumi-resource-pulumi-nodejs"

rm -rf "$bin" && mv "$bin.tmp" "$bin" && rm -rf "$work"
warm || die "built, but '$bin/pulumi version' does not print v$version"
log "done in $(( $(date +%s) - start ))s: $("$bin/pulumi" version)"
echo "$bin"
