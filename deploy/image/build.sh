#!/usr/bin/env bash
# Builds realname's container image offline: the static binary with the Go
# toolchain on this machine, then the FROM scratch Dockerfile with buildah
# (vfs storage and chroot isolation: no daemon, no registry, no user
# namespaces needed, so it runs as root in CI and in an unprivileged
# container alike).
#
#   deploy/image/build.sh [TAG]          default realname:dev
#
# BUILDAH_ROOT=DIR keeps buildah's storage under DIR instead of
# /var/lib/containers (CI uses a temporary one and deletes it).
# VERSION sets `realname version` (default: git describe).
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:-realname:dev}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
store=(--storage-driver vfs)
if [ -n "${BUILDAH_ROOT:-}" ]; then
  store+=(--root "$BUILDAH_ROOT/root" --runroot "$BUILDAH_ROOT/run")
fi

ctx=$(mktemp -d /tmp/realname-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT

# Static: CGO off (glebarez/sqlite is pure Go), so the binary needs no libc
# in a FROM scratch image.
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$ctx/realname" .
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
mkdir -m 0755 "$ctx/data"
mkdir -m 1777 "$ctx/tmp"
cp Dockerfile .dockerignore "$ctx/"

buildah "${store[@]}" bud --isolation chroot --layers=false -f "$ctx/Dockerfile" -t "$tag" "$ctx" >&2
buildah "${store[@]}" inspect --type image --format '{{.FromImageID}}' "$tag" >/dev/null
