#!/usr/bin/env bash
# Writes what the manifests need but the repository must not hold, once (existing files are kept):
#   base/secrets/{api-token,relay-secret,redis-password}   random secrets for the secretGenerator
#   components/self-signed/tls/{ca.crt,tls.crt,tls.key}    a CA and the functions' serving certificate
# Both folders are ignored by git. Needs openssl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
NAMESPACE=${NAMESPACE:-kube-ovn-vip}
SERVICE=${SERVICE:-vip-functions}

mkdir -p "$here/base/secrets"
# Two runs at once (tests render overlays in parallel) would each sign with their own CA and
# overwrite the other's ca.crt; one at a time, the second finds the files and keeps them.
exec 9>"$here/base/secrets/.init.lock"
flock 9
for name in api-token relay-secret redis-password; do
  f="$here/base/secrets/$name"
  [ -s "$f" ] || (umask 077 && openssl rand -hex 32 | tr -d '\n' >"$f")
done

tls="$here/components/self-signed/tls"
if [ ! -s "$tls/tls.crt" ]; then
  mkdir -p "$tls"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$SERVICE-ca" \
    -keyout "$work/ca.key" -out "$tls/ca.crt" 2>/dev/null
  san="DNS:$SERVICE,DNS:$SERVICE.$NAMESPACE,DNS:$SERVICE.$NAMESPACE.svc,DNS:$SERVICE.$NAMESPACE.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$SERVICE.$NAMESPACE.svc" \
    -keyout "$tls/tls.key" -out "$work/tls.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$work/ext"
  openssl x509 -req -in "$work/tls.csr" -CA "$tls/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -days 825 -extfile "$work/ext" -out "$tls/tls.crt" 2>/dev/null
  chmod 600 "$tls/tls.key"
fi
echo "secrets in $here/base/secrets, self-signed certificate in $tls"
