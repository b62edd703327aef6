/** Where the user-data writes the node-agent install script (see installNodeAgentScript). */
export const INSTALL_SCRIPT_PATH = '/usr/local/lib/skyweave/install-node-agent.sh';
/** Where the install script unpacks a downloaded node-agent package. */
export const AGENT_INSTALL_ROOT = '/opt/skyweave/node-agent';
/** The executable inside a node-agent package, relative to the package root. */
export const PACKAGE_AGENT_BINARY = 'bin/skyweave-node-agent';

/** The CPU architectures node-agent packages are built for, as Debian (`dpkg --print-architecture`) and Kubernetes name them. */
export const AGENT_ARCHITECTURES = ['amd64', 'arm64'] as const;
export type AgentArchitecture = (typeof AGENT_ARCHITECTURES)[number];

/**
 * Environment variables the install script reads (runcmd passes the package ones; tests override the paths and the
 * architecture). `packageUrl` / `packageSha256` name one package for whatever the VM is; the per-architecture pairs
 * (`SKYWEAVE_AGENT_PACKAGE_URL_AMD64` …, see packageEnv) let one user-data serve an instance type of either
 * architecture, the VM picking its own — the platform need not know every cloud's architecture of every type.
 */
export const INSTALL_ENV = {
  packageUrl: 'SKYWEAVE_AGENT_PACKAGE_URL',
  packageSha256: 'SKYWEAVE_AGENT_PACKAGE_SHA256',
  binary: 'SKYWEAVE_AGENT_BINARY',
  installRoot: 'SKYWEAVE_AGENT_INSTALL_ROOT',
  /** The VM's architecture (default: `dpkg --print-architecture`, else `uname -m` mapped to amd64/arm64). */
  architecture: 'SKYWEAVE_AGENT_ARCH',
} as const;

/** The URL and SHA-256 variables of one architecture's package (`SKYWEAVE_AGENT_PACKAGE_URL_ARM64` …). */
export const packageEnv = (arch: AgentArchitecture): { url: string; sha256: string } => ({
  url: `${INSTALL_ENV.packageUrl}_${arch.toUpperCase()}`,
  sha256: `${INSTALL_ENV.packageSha256}_${arch.toUpperCase()}`,
});

/**
 * The POSIX shell script that installs node-agent on a VM; cloud-init's runcmd runs it, as root, before the agent's
 * unit is enabled. The script itself is constant (nothing user-supplied is templated into it): the package URL and
 * checksum reach it as environment variables, so no quoting of values into shell source is ever needed.
 *
 * - If the agent binary is installed already (images that ship it, like the sandbox's), it does nothing.
 * - Otherwise it picks the package for the VM's architecture (SKYWEAVE_AGENT_PACKAGE_URL_<ARCH> and _SHA256_<ARCH>,
 *   the architecture from `dpkg --print-architecture`; SKYWEAVE_AGENT_PACKAGE_URL/_SHA256, when set, win) and downloads the node-agent package — a gzip tarball whose root holds `bin/skyweave-node-agent` and
 *   whatever that needs — with curl (or wget), checks it with `sha256sum -c`, unpacks it into a staging folder next
 *   to the install root, renames that into place and links the binary to the agent's path.
 * - Without a package URL (and no binary) it fails: a message on stderr (cloud-init logs it to
 *   /var/log/cloud-init-output.log) and exit status 1. A bad checksum or a package without the binary also fails,
 *   and leaves the install root and the binary path untouched.
 *
 * The two paths default to `defaults` and can be overridden (SKYWEAVE_AGENT_BINARY, SKYWEAVE_AGENT_INSTALL_ROOT) so
 * the script can be run for real in a temporary folder by tests.
 */
export function installNodeAgentScript(defaults: { agentBinary: string; installRoot: string }): string {
  for (const p of [defaults.agentBinary, defaults.installRoot]) {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(p)) throw new Error(`install script: default path ${p} must be absolute and plain`);
  }
  return `#!/bin/sh
# Installs Skyweave node-agent (run by cloud-init's runcmd, as root, before the agent's systemd unit is enabled).
#
# Does nothing if the agent binary is installed already. Otherwise downloads the node-agent package (a gzip
# tarball with ${PACKAGE_AGENT_BINARY}), checks its SHA-256 with sha256sum -c, unpacks it into the install
# root and links the binary.
#
# Environment:
#   ${INSTALL_ENV.packageUrl}_<ARCH>     the package URL (http or https) for the architecture <ARCH>
#                                       (AMD64, ARM64); one is required when the binary is missing
#   ${INSTALL_ENV.packageSha256}_<ARCH>  that package's SHA-256 (64 hex digits); required with its URL
#   ${INSTALL_ENV.packageUrl}, ${INSTALL_ENV.packageSha256}
#                                       one package whatever the architecture (wins when set)
#   ${INSTALL_ENV.architecture}  the VM's architecture (default: dpkg --print-architecture, else uname -m)
#   ${INSTALL_ENV.binary}          the agent binary's path (default ${defaults.agentBinary})
#   ${INSTALL_ENV.installRoot}    where the package is unpacked (default ${defaults.installRoot})
set -eu

agent_binary="\${${INSTALL_ENV.binary}:-${defaults.agentBinary}}"
install_root="\${${INSTALL_ENV.installRoot}:-${defaults.installRoot}}"
package_url="\${${INSTALL_ENV.packageUrl}:-}"
package_sha256="\${${INSTALL_ENV.packageSha256}:-}"

say() {
  printf 'install-node-agent: %s\\n' "$*" >&2
}

fail() {
  say "error: $*"
  exit 1
}

if [ -x "$agent_binary" ]; then
  say "$agent_binary is installed already; nothing to do"
  exit 0
fi

if [ -z "$package_url" ]; then
  arch="\${${INSTALL_ENV.architecture}:-}"
  if [ -z "$arch" ]; then
    arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
  fi
  case "$arch" in
    amd64 | x86_64) arch=amd64; package_url="\${${packageEnv('amd64').url}:-}"; package_sha256="\${${packageEnv('amd64').sha256}:-}" ;;
    arm64 | aarch64) arch=arm64; package_url="\${${packageEnv('arm64').url}:-}"; package_sha256="\${${packageEnv('arm64').sha256}:-}" ;;
    *) fail "no node-agent package is built for the architecture $arch (amd64 and arm64 are)" ;;
  esac
  if [ -z "$package_url" ]; then
    fail "$agent_binary is not installed and no node-agent package was given for $arch (set ${INSTALL_ENV.packageUrl}_<ARCH> and ${INSTALL_ENV.packageSha256}_<ARCH>)"
  fi
fi
case "$package_sha256" in
  *[!0-9a-fA-F]*) fail "${INSTALL_ENV.packageSha256} must be 64 hex digits" ;;
esac
if [ "\${#package_sha256}" -ne 64 ]; then
  fail "${INSTALL_ENV.packageSha256} must be 64 hex digits"
fi
case "$install_root" in
  /?*) ;;
  *) fail "the install root must be an absolute path other than /: $install_root" ;;
esac

work=""
staging=""
cleanup() {
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ -n "$staging" ]; then rm -rf "$staging"; fi
}
trap cleanup EXIT
work="$(mktemp -d)"
package="$work/node-agent.tar.gz"

say "downloading $package_url"
if command -v curl >/dev/null 2>&1; then
  curl --fail --silent --show-error --location --retry 5 --retry-delay 2 --output "$package" "$package_url" ||
    fail "could not download $package_url"
elif command -v wget >/dev/null 2>&1; then
  wget --quiet --tries=5 --output-document="$package" "$package_url" ||
    fail "could not download $package_url"
else
  fail "neither curl nor wget is installed"
fi

if ! (cd "$work" && printf '%s  %s\\n' "$package_sha256" node-agent.tar.gz | sha256sum -c -); then
  fail "the package from $package_url does not match its SHA-256 $package_sha256"
fi

mkdir -p "$(dirname "$install_root")"
staging="$(mktemp -d "$install_root.XXXXXX")"
tar -xzf "$package" -C "$staging" --no-same-owner || fail "could not unpack the package from $package_url"
if [ ! -f "$staging/${PACKAGE_AGENT_BINARY}" ] || [ ! -x "$staging/${PACKAGE_AGENT_BINARY}" ]; then
  fail "the package from $package_url has no executable ${PACKAGE_AGENT_BINARY}"
fi
chmod 0755 "$staging"
rm -rf "$install_root"
mv "$staging" "$install_root"
staging=""

mkdir -p "$(dirname "$agent_binary")"
ln -sf "$install_root/${PACKAGE_AGENT_BINARY}" "$agent_binary"
say "installed $agent_binary -> $install_root/${PACKAGE_AGENT_BINARY}"
`;
}
