#!/usr/bin/env bash
# `npm run image`: builds the one image (Containerfile) with Podman and prints its size and the time
# it took. Installs podman, runc and mmdebstrap when missing (root, as infra/local/run.sh does).
#   IMAGE   tag to build (default localhost/kube-ovn-vip:dev)
#   BASE    base image with node 20 + npm; default: the local base from infra/image/base.sh.
#           Where a registry is reachable: BASE=docker.io/library/node:20-bookworm-slim
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${IMAGE:-localhost/kube-ovn-vip:dev}
say() { printf '[image] %s\n' "$*" >&2; }
start=$(date +%s)

missing=()
for bin in podman runc mmdebstrap; do command -v "$bin" >/dev/null 2>&1 || missing+=("$bin"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing: ${missing[*]}. As root: apt-get install -y podman runc mmdebstrap"
    exit 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null
fi
source infra/image/podman.sh

if [ -z "${BASE:-}" ]; then
  BASE=localhost/vip-base:bookworm
  BASE_IMAGE=$BASE bash infra/image/base.sh
fi
say "building $IMAGE from $BASE"
# The CA bundle npm trusts here goes in as a build secret (not a layer): a TLS-inspecting proxy's
# CA must be trusted inside the build as well.
ca=$(npm config get cafile 2>/dev/null || true)
[ -f "$ca" ] || ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
secret=()
[ -f "$ca" ] && secret=(--secret "id=ca,src=$ca")
# Host network: RUN steps reach the npm registry without a container network stack.
podman_ build --network host "${secret[@]}" --build-arg "BASE=$BASE" -f Containerfile -t "$IMAGE" . >&2
size=$(podman_ image inspect "$IMAGE" --format '{{.Size}}')
say "built $IMAGE: $((size / 1000000)) MB in $(($(date +%s) - start)) s"
