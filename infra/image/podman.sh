#!/usr/bin/env bash
# Podman as it works on these machines (sourced by the image scripts, and run by the image test):
# the runc runtime (crun fails here: "cgroups in hybrid mode not supported") and a private
# containers.conf without default ulimits (the sandbox forbids raising RLIMIT_NOFILE/NPROC).
# /etc is never edited.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF="$ROOT/.local/podman/containers.conf"
if [ ! -f "$CONTAINERS_CONF" ]; then
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
fi
podman_() { podman --runtime runc "$@"; }
# Run as a script: podman with those settings and the given arguments.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then podman_ "$@"; fi
