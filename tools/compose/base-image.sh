#!/usr/bin/env bash
# Builds the local base image `skyweave-base:bookworm` when it is missing (no image registry is reachable here, so
# `FROM node:…` cannot be pulled): a Debian bookworm root filesystem made with debootstrap from the machine's own Debian
# mirror, with PostgreSQL 15, nats-server and curl from Debian, plus this machine's Node.js binary, imported with
# `docker import`. Takes a few minutes once; `--force` rebuilds. Needs root and tools/compose/engine.sh first.
set -euo pipefail
IMAGE=skyweave-base:bookworm
if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base-image: $IMAGE exists" >&2; exit 0
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d /var/tmp/skyweave-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap bookworm from $mirror (a few minutes)" >&2
debootstrap --variant=minbase --include=postgresql-15,nats-server,ca-certificates,curl,iproute2 bookworm "$root" "$mirror" >/dev/null
node=$(command -v node)
cp "$node" "$root/usr/local/bin/node"
chroot "$root" /usr/local/bin/node --version >/dev/null || { echo "base-image: the host's Node.js does not run in the image" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
echo "base-image: importing as $IMAGE" >&2
tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "base-image: $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), node $(docker run --rm "$IMAGE" node --version))" >&2
