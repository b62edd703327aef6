#!/usr/bin/env bash
# Installs, from Debian's packages, the tools that tests use to check Skyweave's output and to run real WireGuard:
# cloud-init (schema), shellcheck, haproxy (`haproxy -c` on the API server proxy configuration node-agent writes), containerd (its `config default`, which the node's containerd script edits), openssl, kubectl, wireguard-go + wireguard-tools, iproute2 (ip, tc), iputils-ping, curl (the sandbox VM image's kubeadm);
# debootstrap and systemd-nspawn (systemd-container) for npm run test:boot; chromium (headless) for the web console's browser test (test/e2e/console.spec.ts).
# Installs only what is missing; needs root (or sudo) the first time.
set -euo pipefail
need=()
for pair in cloud-init:cloud-init shellcheck:shellcheck haproxy:haproxy containerd:containerd openssl:openssl kubectl:kubectl wireguard-go:wireguard-go \
  wg:wireguard-tools ip:iproute2 tc:iproute2 ping:iputils-ping curl:curl debootstrap:debootstrap systemd-nspawn:systemd-container chromium:chromium; do
  bin=${pair%%:*}
  pkg=${pair#*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "validators: all present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "validators: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
