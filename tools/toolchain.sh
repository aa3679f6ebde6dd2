#!/usr/bin/env bash
# Builds the Pulumi engine and the plugins this project runs on, installs the plugins into the
# project's PULUMI_HOME, and prints as its last line the directory that holds `pulumi` (for
# PATH). Warm cache: checks the installed plugins and prints the directory (about a second).
#
#   pulumi                          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (Go module proxy), at
#                                   the version of @pulumi/pulumi in package-lock.json
#   pulumi-language-nodejs          the Node language host of the same release (vendored source)
#   pulumi-resource-command         the provider behind @pulumi/command, at its package-lock version
#   pulumi-resource-random          the provider behind @pulumi/random, at its package-lock version
#
# Environment:
#   PULUMI_MIDDLEWARE_CACHE    where binaries are cached, one folder per binary and version
#                              (default ~/.cache/pulumi-middleware)
#   PULUMI_HOME                where the plugins are installed (default .pulumi/home in the project,
#                              where tools/engine.ts runs the engine)
#   PULUMI_MIDDLEWARE_VENDOR   the upstream source archives of the modules the Go module proxy
#                              refuses (default ../shared/vendor/pulumi beside the project)
# Nothing is fetched except through the Go module proxy.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go is not installed; this machine kind ships Go (1.25 or newer is needed)"
command -v node >/dev/null || die "node is not installed"
[ -f "$here/package-lock.json" ] || die "package-lock.json is missing in $here (run npm install)"

locked() {
  local v
  v=$(node -p "(require('$here/package-lock.json').packages['node_modules/$1'] || {}).version") ||
    die "cannot read the $1 version from package-lock.json"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$1 in package-lock.json has version '$v'; expected x.y.z"
  echo "$v"
}
pulumi_version=$(locked @pulumi/pulumi)
command_version=$(locked @pulumi/command)
random_version=$(locked @pulumi/random)

vendor=${PULUMI_MIDDLEWARE_VENDOR:-$here/../shared/vendor/pulumi}
cache=${PULUMI_MIDDLEWARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-middleware}
top="$cache/toolchain/engine-v${pulumi_version}_command-v${command_version}_random-v${random_version}"
bin="$top/bin"
plugins="$top/plugins"

# name -> folder of its cached build, keyed by the version it is built from.
declare -A built=(
  [pulumi]="$cache/toolchain/builds/pulumi-v$pulumi_version"
  [pulumi-language-nodejs]="$cache/toolchain/builds/pulumi-language-nodejs-v$pulumi_version"
  [pulumi-resource-command]="$cache/toolchain/builds/pulumi-resource-command-v$command_version"
  [pulumi-resource-random]="$cache/toolchain/builds/pulumi-resource-random-v$random_version"
)
have() { [ -x "${built[$1]}/$1" ]; }
# Where each binary is published: the engine's on PATH, the resource plugins apart.
# The language host is bundled: the engine looks for it beside its own executable.
dir_of() { case $1 in pulumi|pulumi-language-nodejs) echo "$bin" ;; *) echo "$plugins" ;; esac; }

warm() {
  local name
  for name in "${!built[@]}"; do [ -x "$(dir_of "$name")/$name" ] || return 1; done
  [ "$("$bin/pulumi" version 2>/dev/null)" = "v$pulumi_version" ]
}

# install_plugins: `pulumi plugin install --file` of each plugin into PULUMI_HOME, where the engine
# loads it without a download; a copy that differs from the build is replaced.
install_plugins() {
  local home=${PULUMI_HOME:-$here/.pulumi/home} kind name version file
  while read -r kind name version file; do
    local installed="$home/plugins/$kind-$name-v$version/$file"
    cmp -s "$plugins/$file" "$installed" 2>/dev/null && continue
    log "installing the $kind plugin $name $version into $home"
    PULUMI_HOME=$home "$bin/pulumi" plugin install "$kind" "$name" "$version" --file "$plugins/$file" --reinstall >/dev/null ||
      die "cannot install the $kind plugin $name $version into $home"
  done <<EOF
resource command $command_version pulumi-resource-command
resource random $random_version pulumi-resource-random
EOF
}

if warm; then
  install_plugins
  echo "$bin"
  exit 0
fi

mkdir -p "$cache/toolchain/builds"
exec 9>"$cache/toolchain/.lock"
flock -n 9 || { log "waiting for another toolchain build to finish"; flock 9; }
if warm; then install_plugins; echo "$bin"; exit 0; fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
work="$cache/toolchain/work"
start=$(date +%s)

# Shows progress from `go build -v` (one package name per line) without flooding the output.
progress() {
  awk -v what="$1" '{ n++; if (n % 100 == 0) { printf "[toolchain] %s: %d packages compiled\n", what, n > "/dev/stderr"; fflush() } }
    END { printf "[toolchain] %s: %d packages compiled\n", what, n > "/dev/stderr" }'
}
quiet_downloads() {
  awk -v what="$1" '
    /^go: downloading/ { n++; if (n % 50 == 0) { printf "[toolchain] %s: %d modules downloaded\n", what, n > "/dev/stderr"; fflush() } next }
    { print "[toolchain]   " $0 > "/dev/stderr" }'
}

# compile NAME DIR PKG LDFLAGS: resolves the module in DIR and builds PKG into the cache.
compile() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 out="${built[$1]}"
  log "$name: resolving modules"
  (cd "$dir" && go mod download all) 2>&1 | quiet_downloads "$name" || true
  log "$name: compiling"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  if ! (cd "$dir" && go build -v -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/$name" "$pkg") 2>&1 |
      tee "$work/$name.log" | progress "$name"; then
    tail -n 30 "$work/$name.log" >&2
    die "$name: go build failed (the lines above are the end of its output)"
  fi
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# unpack ARCHIVE: a fresh copy of a vendored upstream archive under $work; prints its top folder.
unpack() {
  local archive="$vendor/$1"
  [ -f "$archive" ] || die "$1 is not in $vendor. Set PULUMI_MIDDLEWARE_VENDOR to the folder holding the
  upstream archives (see ../shared/vendor/pulumi/README.md), or install the plugins with
  'pulumi plugin install resource $2' on a machine with internet access (README: Toolchain)."
  tar -xzf "$archive" -C "$work"
  tar -tzf "$archive" | awk -F/ 'NR == 1 { print $1 }'
}

# addline FILE LINE: appends LINE to a go.mod unless it is there.
addline() { grep -qxF "$2" "$1" || printf '\n%s\n' "$2" >>"$1"; }

build_cli() {
  local dir="$work/pulumi-cli" cli_go
  mkdir -p "$dir"
  cli_go=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$pulumi_version" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=require("fs").readFileSync(JSON.parse(s).GoMod,"utf8").match(/^go (\S+)/m);console.log(m?m[1]:"1.22")})')
  # A wrapper module: `go install` would refuse the CLI module's own third-party replace.
  cat >"$dir/go.mod" <<EOF
module toolchain/pulumi

go $cli_go

require (
	github.com/pulumi/pulumi/pkg/v3 v$pulumi_version
	github.com/pulumi/pulumi/sdk/v3 v$pulumi_version
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy) 2>&1 | quiet_downloads pulumi
  compile pulumi "$dir" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version"
}

# The language host's go.mod points at the pulumi repository's own pkg/ and sdk/ folders; the same
# release's modules come from the proxy instead.
build_language_host() {
  local top dir
  top=$(unpack "pulumi-language-nodejs-$pulumi_version.tar.gz" "language nodejs $pulumi_version")
  dir="$work/$top/sdk/nodejs/cmd/pulumi-language-nodejs"
  sed -i -e '\#=> \.\./\.\./\.\./\.\./pkg$#d' -e '\#=> \.\./\.\./\.\.$#d' "$dir/go.mod"
  (cd "$dir" && go mod edit -require="github.com/pulumi/pulumi/pkg/v3@v$pulumi_version" \
    -require="github.com/pulumi/pulumi/sdk/v3@v$pulumi_version")
  compile pulumi-language-nodejs "$dir" . \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version"
}

build_command() {
  local top provider
  top=$(unpack "pulumi-command-$command_version.tar.gz" "command $command_version")
  provider=$(unpack "pulumi-go-provider-1.3.0.tar.gz" "command $command_version")
  addline "$work/$top/provider/go.mod" "replace github.com/pulumi/pulumi-go-provider => ../../$provider"
  compile pulumi-resource-command "$work/$top/provider" ./cmd/pulumi-resource-command \
    "-X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$command_version"
}

build_random() {
  local top yaml dotnet dir
  top=$(unpack "pulumi-random-$random_version.tar.gz" "random $random_version")
  yaml=$(unpack "pulumi-yaml-294c561.tar.gz" "random $random_version")
  dotnet=$(unpack "pulumi-language-dotnet-6a2eb25.tar.gz" "random $random_version")
  dir="$work/$top/provider"
  addline "$dir/go.mod" "replace github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 => ../../$dotnet/pulumi-language-dotnet"
  addline "$dir/go.mod" "replace github.com/pulumi/pulumi-yaml => ../../$yaml"
  # Generated upstream at release time: the schema with the release's version.
  node -e 'const fs=require("fs");const s=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));s.version=process.argv[3];fs.writeFileSync(process.argv[2],JSON.stringify(s))' \
    "$dir/cmd/pulumi-resource-random/schema.json" "$dir/cmd/pulumi-resource-random/schema-embed.json" "$random_version"
  compile pulumi-resource-random "$dir" ./cmd/pulumi-resource-random \
    "-X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=$random_version"
}

log "Pulumi v$pulumi_version, command v$command_version, random v$random_version into $bin"
log "(a cold build takes about 10 minutes on 2 cores; later runs reuse the cache)"
rm -rf "$work" && mkdir -p "$work"
have pulumi || build_cli
have pulumi-language-nodejs || build_language_host
have pulumi-resource-command || build_command
have pulumi-resource-random || build_random
rm -rf "$work"

rm -rf "$top.tmp" && mkdir -p "$top.tmp/bin" "$top.tmp/plugins"
# Hard links: the engine resolves its executable's real path to find the bundled language host.
for name in "${!built[@]}"; do ln "${built[$name]}/$name" "$top.tmp/$(basename "$(dir_of "$name")")/$name"; done
rm -rf "$top" && mv "$top.tmp" "$top"
warm || die "built, but '$bin/pulumi version' does not print v$pulumi_version"
install_plugins
log "done in $(( $(date +%s) - start ))s: $("$bin/pulumi" version)"
echo "$bin"
