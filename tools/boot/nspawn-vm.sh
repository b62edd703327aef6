#!/bin/sh
# The hypervisor of `npm run test:boot` (test/boot/main.ts): boots one sandbox VM as a Debian system under
# systemd-nspawn, so that cloud-init and systemd run its user-data as on a cloud VM. The sandbox cloud runs it for the
# instance types it was told (apps/cloud-emulator --vm-hypervisor-command), in the foreground, until SIGTERM.
#
#   nspawn-vm.sh <instance-id> <user-data file>
#
# Environment: SKYWEAVE_BOOT_ROOTFS (the image: a debootstrapped Debian with cloud-init, test/boot/main.ts makes it),
# SKYWEAVE_BOOT_HOST_IP (the host address the VM reaches the platform at, on the host already), SKYWEAVE_VM_DIR,
# SKYWEAVE_VM_PRIVATE_IP (the sandbox cloud's).
#
# The VM gets a copy of the image (its boot disk), cloud-init's NoCloud seed (meta-data: instance id and host name;
# user-data: the platform's, unchanged), and a network namespace of its own with one interface, eth0, holding its
# private address; a veth pair joins it to the host, which routes the private address to it. The namespace and the
# copy go when it stops.
set -eu

id="$1"
user_data="$2"
: "${SKYWEAVE_BOOT_ROOTFS:?the image}" "${SKYWEAVE_BOOT_HOST_IP:?the host address}" "${SKYWEAVE_VM_DIR:?the VM folder}" "${SKYWEAVE_VM_PRIVATE_IP:?the private address}"

hash="$(printf '%s' "$id" | sha256sum | cut -c1-8)"
name="swb-$hash"
veth="swb$hash"
machine="$SKYWEAVE_VM_DIR/machine"

say() {
  printf 'nspawn-vm %s: %s\n' "$name" "$*"
}

cleanup() {
  ip link del "$veth" 2>/dev/null || true
  ip netns del "$name" 2>/dev/null || true
  rm -rf "$machine"
}

say "boot disk from $SKYWEAVE_BOOT_ROOTFS"
rm -rf "$machine"
cp -a --reflink=auto "$SKYWEAVE_BOOT_ROOTFS" "$machine"
seed="$machine/var/lib/cloud/seed/nocloud"
mkdir -p "$seed"
printf 'instance-id: %s\nlocal-hostname: %s\n' "$id" "$name" > "$seed/meta-data"
cp "$user_data" "$seed/user-data"

say "network: eth0 $SKYWEAVE_VM_PRIVATE_IP, platform at $SKYWEAVE_BOOT_HOST_IP"
ip netns del "$name" 2>/dev/null || true
ip link del "$veth" 2>/dev/null || true
ip netns add "$name"
trap cleanup EXIT
ip link add "$veth" type veth peer name eth0 netns "$name"
ip link set "$veth" up
ip route replace "$SKYWEAVE_VM_PRIVATE_IP/32" dev "$veth"
ip -n "$name" link set lo up
ip -n "$name" addr add "$SKYWEAVE_VM_PRIVATE_IP/32" dev eth0
ip -n "$name" link set eth0 up
ip -n "$name" route add "$SKYWEAVE_BOOT_HOST_IP/32" dev eth0
ip -n "$name" route add default via "$SKYWEAVE_BOOT_HOST_IP" dev eth0

say "systemd-nspawn --boot"
# --keep-unit --register=no: this host runs no systemd; /dev/net/tun and CAP_NET_ADMIN (root on a VM has it) for
# wireguard-go and ip; no resolv.conf: this machine's
# network is closed, so names on the internet (pkgs.k8s.io …) fail at once instead of after DNS timeouts
systemd-nspawn --quiet --boot --directory "$machine" --machine "$name" --network-namespace-path "/run/netns/$name" \
  --register=no --keep-unit --bind /dev/net/tun --resolv-conf=delete --capability=CAP_NET_ADMIN &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child" || true; cleanup; exit 0' TERM INT
wait "$child" || true
