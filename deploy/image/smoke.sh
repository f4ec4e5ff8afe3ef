#!/usr/bin/env bash
# CI's image check: builds the image (deploy/image/build.sh) in a throwaway
# buildah store, runs it offline the way the image says (its ENTRYPOINT and
# CMD, as its USER, its /data volume) with SQLite and no WeChat
# credentials (so the sandbox upstreams), and requires /healthz and
# /readyz to answer 200 and the SQLite file to be on /data. Prints one
# line with the image's size; exits non-zero otherwise. Everything it
# started or stored is removed on exit.
#
#   deploy/image/smoke.sh [TAG]     default realname:ci
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:-realname:ci}
began=$SECONDS
work=$(mktemp -d /tmp/realname-image-ci.XXXXXX)
export BUILDAH_ROOT=$work/store
store=(--storage-driver vfs --root "$BUILDAH_ROOT/root" --runroot "$BUILDAH_ROOT/run")
ctr="" pid=""

descendants() { # the process tree under $1, children first
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    descendants "$child"
    echo "$child"
  done
}
cleanup() {
  if [ -n "$pid" ]; then
    local tree
    tree=$(descendants "$pid")
    kill -TERM "$pid" $tree 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$ctr" ]; then buildah "${store[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi
  buildah "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "image: $*" >&2
  [ -f "$work/run.log" ] && tail -30 "$work/run.log" >&2
  exit 1
}

if ! deploy/image/build.sh "$tag" >"$work/build.log" 2>&1; then
  tail -40 "$work/build.log" >&2
  fail "build of $tag failed"
fi
built=$((SECONDS - began))
size=$(buildah "${store[@]}" images --format '{{.Size}}' "$tag")
cmd=$(buildah "${store[@]}" inspect --type image \
  --format '{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}{{range .OCIv1.Config.Cmd}}{{.}} {{end}}' "$tag")
user=$(buildah "${store[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "$tag")
[ "${user%%:*}" = 65532 ] || fail "runs as '$user', want 65532"

port=18080
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

# The image's VOLUME /data gives the container a fresh directory, owned
# as the image declares it (65532): SQLite and the development key go
# there. The host's loopback is shared (chroot isolation), so curl
# reaches it.
ctr=$(buildah "${store[@]}" from "$tag")
# shellcheck disable=SC2086 # the image's command line, split as Docker would
buildah "${store[@]}" run --isolation chroot --env "REALNAME_HTTP_ADDR=127.0.0.1:$port" "$ctr" -- $cmd >"$work/run.log" 2>&1 &
pid=$!

health=000
for _ in $(seq 1 120); do
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
  [ "$health" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || fail "the container exited before answering"
  sleep 0.5
done
[ "$health" = 200 ] || fail "/healthz answered $health after 60 s"
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
[ "$ready" = 200 ] || fail "/readyz answered $ready"
grep -q '"database":"sqlite"' "$work/run.log" || fail "not on SQLite"
grep -q '"path":"/data/master.key"' "$work/run.log" || fail "the data directory is not /data"

echo "image: built $tag ($size) in ${built} s, /healthz answered $health, /readyz $ready (SQLite on /data, user $user, sandbox upstreams); $((SECONDS - began)) s in all"
