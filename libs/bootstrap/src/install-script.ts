/** Where the user-data writes the node-agent install script (see installNodeAgentScript). */
export const INSTALL_SCRIPT_PATH = '/usr/local/lib/skyweave/install-node-agent.sh';
/** Where the install script unpacks a downloaded node-agent package. */
export const AGENT_INSTALL_ROOT = '/opt/skyweave/node-agent';
/** The executable inside a node-agent package, relative to the package root. */
export const PACKAGE_AGENT_BINARY = 'bin/skyweave-node-agent';

/** Environment variables the install script reads (runcmd passes the package ones; tests override the paths). */
export const INSTALL_ENV = {
  packageUrl: 'SKYWEAVE_AGENT_PACKAGE_URL',
  packageSha256: 'SKYWEAVE_AGENT_PACKAGE_SHA256',
  binary: 'SKYWEAVE_AGENT_BINARY',
  installRoot: 'SKYWEAVE_AGENT_INSTALL_ROOT',
} as const;

/**
 * The POSIX shell script that installs node-agent on a VM; cloud-init's runcmd runs it, as root, before the agent's
 * unit is enabled. The script itself is constant (nothing user-supplied is templated into it): the package URL and
 * checksum reach it as environment variables, so no quoting of values into shell source is ever needed.
 *
 * - If the agent binary is installed already (images that ship it, like the sandbox's), it does nothing.
 * - Otherwise it downloads the node-agent package — a gzip tarball whose root holds `bin/skyweave-node-agent` and
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
#   ${INSTALL_ENV.packageUrl}     package URL (http or https); required when the binary is missing
#   ${INSTALL_ENV.packageSha256}  the package's SHA-256 (64 hex digits); required with the URL
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
  fail "$agent_binary is not installed and no node-agent package was given (set ${INSTALL_ENV.packageUrl} and ${INSTALL_ENV.packageSha256})"
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
