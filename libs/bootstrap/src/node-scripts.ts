/*
 * The two host-preparation steps of a node that cloud-init has no module for, as constant POSIX shell scripts (nothing
 * is templated into them; tests override their paths through the environment and run them for real).
 */

/** Where the user-data writes the swap script (see disableSwapScript). */
export const DISABLE_SWAP_SCRIPT_PATH = '/usr/local/lib/skyweave/disable-swap.sh';
/** Where the user-data writes the containerd script (see configureContainerdScript). */
export const CONFIGURE_CONTAINERD_SCRIPT_PATH = '/usr/local/lib/skyweave/configure-containerd.sh';
/** containerd's configuration file. */
export const CONTAINERD_CONFIG_PATH = '/etc/containerd/config.toml';

/** Environment variables the scripts read (tests only: the defaults are the node's paths). */
export const NODE_SCRIPT_ENV = { fstab: 'SKYWEAVE_FSTAB', containerdConfig: 'SKYWEAVE_CONTAINERD_CONFIG' } as const;

/**
 * Turns swap off now and keeps it off across reboots (kubeadm's "Installing kubeadm", "Before you begin": the kubelet
 * fails to start with swap on by default; "make sure swap is disabled in config files like /etc/fstab, systemd.swap").
 * - `swapoff -a`;
 * - comments out every `swap` entry of /etc/fstab (a backup is kept as `/etc/fstab.skyweave-bak`);
 * - masks `swap.target`, so swap units made by systemd or a cloud agent are not pulled in at boot.
 * Running it again changes nothing more. Exits non-zero when a command fails (cloud-init logs it).
 */
export function disableSwapScript(): string {
  return `#!/bin/sh
# Turns swap off now and for every later boot (kubeadm: "Before you begin", swap). Run by cloud-init's runcmd.
set -eu
fstab="\${${NODE_SCRIPT_ENV.fstab}:-/etc/fstab}"

swapoff -a
if [ -f "$fstab" ] && grep -Eq '^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]]|$)' "$fstab"; then
  cp -p "$fstab" "$fstab.skyweave-bak"
  sed -i -E 's@^([^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]].*)?)$@# swap off for the kubelet (skyweave): \\1@' "$fstab"
fi
systemctl mask swap.target
`;
}

/**
 * Configures containerd for the kubelet (the "Container Runtimes" page, "containerd" and "Configuring the systemd
 * cgroup driver"): writes containerd's generated default configuration (`containerd config default`: the CRI plugin
 * enabled, unlike the config file some packages ship) to /etc/containerd/config.toml with the runc runtime's
 * `SystemdCgroup = true`, then restarts containerd. The file is replaced whole (written beside it, then renamed);
 * when the generated default has no `SystemdCgroup` setting to turn on, it fails and leaves the old file in place.
 */
export function configureContainerdScript(): string {
  return `#!/bin/sh
# containerd with the systemd cgroup driver (Container Runtimes: containerd, "Configuring the systemd cgroup driver").
set -eu
config="\${${NODE_SCRIPT_ENV.containerdConfig}:-${CONTAINERD_CONFIG_PATH}}"

mkdir -p "$(dirname "$config")"
tmp="$(mktemp "$config.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
containerd config default >"$tmp"
sed -i -E 's/^([[:space:]]*)SystemdCgroup = false$/\\1SystemdCgroup = true/' "$tmp"
if ! grep -Eq '^[[:space:]]*SystemdCgroup = true$' "$tmp"; then
  printf 'configure-containerd: error: containerd config default has no SystemdCgroup setting; %s left as it was\\n' "$config" >&2
  exit 1
fi
chmod 0644 "$tmp"
mv "$tmp" "$config"
trap - EXIT
systemctl restart containerd
`;
}
