#!/usr/bin/env bash
# The one entry behind the README commands (npm start / test / bench / audit / demo:scale).
# It installs what is missing (npm packages, then Debian packages), then runs the verb.
# Every service is started by the TypeScript it calls, on free loopback ports, and stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/../.."
verb=${1:-}
[ $# -gt 0 ] && shift
export PATH="$PWD/node_modules/.bin:$PATH:/usr/sbin:/sbin"

say() { printf '[setup] %s\n' "$*" >&2; }

ensure_npm() {
  # A node_modules that is a symlink belongs to another checkout (a git worktree sharing it):
  # npm ci would empty it under that checkout's feet.
  [ -L node_modules ] && return 0
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# binary -> Debian package that provides it: what every command needs ...
declare -A PKG_OF=(
  [redis-server]=redis-server [redis-cli]=redis-server
  [ovsdb-server]=openvswitch-common [ovsdb-tool]=openvswitch-common [ovs-appctl]=openvswitch-common
  [ovn-nbctl]=ovn-common [ovn-sbctl]=ovn-common [ovn-northd]=ovn-central
  [chromium]=chromium # the occupancy page's browser test (test/occupancy), driven by playwright-core
)
# ... and what the node agent's dataplane (infra/node-agent, root only) and its tests add.
declare -A DATAPLANE_PKG_OF=(
  [ovs-vswitchd]=openvswitch-switch [ovs-vsctl]=openvswitch-switch [ovn-controller]=ovn-host
  [ip]=iproute2 [ethtool]=ethtool [arping]=iputils-arping [ping]=iputils-ping [curl]=curl [busybox]=busybox
)
missing_packages() { # name of an associative array -> packages whose binaries are missing
  local -n map=$1
  for bin in "${!map[@]}"; do command -v "$bin" >/dev/null 2>&1 || echo "${map[$bin]}"; done
}
ensure_system() {
  local core dataplane
  core=$(missing_packages PKG_OF)
  [ -f /usr/share/ovn/ovn-nb.ovsschema ] || core="$core ovn-central"
  dataplane=$(missing_packages DATAPLANE_PKG_OF)
  # The conformance suite's third client (test/kube/conformance) runs under Debian's python3.
  /usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || dataplane="$dataplane python3-kubernetes"
  if [ "$(id -u)" != 0 ]; then
    # Without root the dataplane cannot run anyway (npm start skips it and says why).
    [ -n "$dataplane" ] && say "note: the dataplane needs root and: $(echo $dataplane | tr ' ' '\n' | sort -u | tr '\n' ' ')"
    [ -z "${core// /}" ] && return 0
    local want
    want=$(printf '%s\n' $core ovn-central ovn-common openvswitch-common redis-server | sort -u | tr '\n' ' ')
    say "missing Debian packages: $want. Install them as root, then run again:"
    say "  sudo apt-get update && sudo apt-get install -y $want"
    exit 1
  fi
  [ -z "${core// /}${dataplane// /}" ] && return 0
  # ovn-central also brings the schemas; python3-openvswitch is the benchmark's reference client.
  local want
  want=$(printf '%s\n' $core $dataplane ovn-central ovn-common openvswitch-common redis-server python3-openvswitch | sort -u | tr '\n' ' ')
  say "installing Debian packages: $want"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $want >/dev/null
}

ensure_npm
ensure_system

case "$verb" in
  start) exec node --import tsx infra/local/start.ts "$@" ;;
  test)
    say "typecheck"; tsc -p tsconfig.json
    say "lint"; biome check .
    exec vitest run "$@"
    ;;
  # Benchmarks run compiled, as a deployment runs the functions (tsx's transform costs every closure).
  bench) say "build"; tsc -p tsconfig.build.json; exec node dist/bench/index.js "$@" ;;
  audit) exec node --import tsx infra/local/audit.ts "$@" ;;
  demo-scale) say "build"; tsc -p tsconfig.build.json; exec node dist/bench/demo-scale.js "$@" ;;
  *) echo "usage: infra/local/run.sh start|test|bench|audit|demo-scale" >&2; exit 2 ;;
esac
