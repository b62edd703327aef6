#!/usr/bin/env bash
# Makes sure a Docker engine and Compose run on this machine (Debian's docker.io and docker-compose 1.29; debootstrap
# for the base image). Installs the packages when missing, starts dockerd in the background when it is not running,
# and waits until `docker info` answers. Needs root (as apt-get and dockerd do). See ../../../shared/STACK.md.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "engine: installing ${need[*]} (Debian)" >&2
  if [ "$(id -u)" != 0 ]; then echo "engine: run as root, or: sudo apt-get install -y ${need[*]}" >&2; exit 1; fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "engine: starting dockerd (log: /var/log/skyweave-dockerd.log)" >&2
  nohup dockerd >/var/log/skyweave-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "engine: dockerd did not start; see /var/log/skyweave-dockerd.log" >&2; exit 1; }
fi
echo "engine: $(docker version --format 'docker {{.Server.Version}}'), $(docker-compose version --short | sed 's/^/compose /')" >&2
