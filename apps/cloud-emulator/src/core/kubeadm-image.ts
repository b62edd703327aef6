/**
 * The sandbox VM image's `kubeadm` program (docs/kube-sandbox.md, "On the sandbox's VMs"): what the image installs at
 * `<imageBin>/kubeadm`. It hands its argv to the sandbox (`POST <SKYWEAVE_SANDBOX_ADMIN_URL>/admin/vm-kubeadm` with
 * the VM's `SKYWEAVE_SANDBOX_VM_TOKEN`), prints what the sandbox answers on stdout and stderr and exits with its code.
 *
 * Two builds of the same program:
 * - with `curl` on the host: a POSIX shell script around curl (argv sent as repeated form fields `argv=…`, the answer
 *   asked as text: {@link kubeadmTextResult}). A few milliseconds of CPU a call, where starting Node for it costs
 *   50–100 ms: the sandbox's VMs share the host's cores, and every node runs kubeadm while the others are joining, so
 *   on a 2-core machine a Node start per kubeadm call put most of a second of the sandbox's own CPU on the
 *   provisioning critical path (bench:provision). Real VMs run kubeadm on their own CPUs.
 * - without curl: a script that execs `kubeadmCommand` (apps/kube-sandbox/src/kubeadm-main.ts, Node).
 * The API server forwarder mode (`--sandbox-apiserver-forward`, namespace-VMs) always runs `kubeadmCommand`: it is a
 * long-running TCP forwarder, not a kubeadm call.
 */
export function imageKubeadmScript(kubeadmCommand: readonly string[], curl: string | undefined): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const node = `exec ${kubeadmCommand.map(quote).join(' ')} "$@"`;
  if (!curl) return `#!/bin/sh\n# the sandbox image's kubeadm (apps/kube-sandbox/src/kubeadm-main.ts)\n${node}\n`;
  return `#!/bin/sh
# the sandbox image's kubeadm: hands its argv to the sandbox, which does on this VM what kubeadm does
# (apps/cloud-emulator/src/core/kubeadm-image.ts, docs/kube-sandbox.md)
if [ "\${1:-}" = --sandbox-apiserver-forward ]; then ${node}; fi
admin=\${SKYWEAVE_SANDBOX_ADMIN_URL:-}
token=\${SKYWEAVE_SANDBOX_VM_TOKEN:-}
if [ -z "$admin" ] || [ -z "$token" ]; then
  echo "kubeadm: this is the sandbox image's kubeadm; it runs only on a sandbox VM (SKYWEAVE_SANDBOX_ADMIN_URL and SKYWEAVE_SANDBOX_VM_TOKEN unset)" >&2
  exit 1
fi
# each argument as one form field, in order (curl encodes it)
for a do shift; set -- "$@" --data-urlencode "argv=$a"; done
case $admin in
  unix:*) set -- "$@" --unix-socket "\${admin#unix:}" http://sandbox/admin/vm-kubeadm ;;
  *) set -- "$@" "\${admin%/}/admin/vm-kubeadm" ;;
esac
answer=$(mktemp) || exit 1
trap 'rm -f "$answer"' EXIT
# the VM's secret goes on curl's standard input (its config), not on its command line
status=$(printf 'header = "authorization: Bearer %s"\\n' "$token" | ${quote(curl)} -K - -sS --max-time 300 -X POST \\
  -H 'content-type: application/x-www-form-urlencoded' -H 'accept: text/plain' --data-binary '' -o "$answer" -w '%{http_code}' "$@") || {
  echo "kubeadm: the sandbox cannot be reached at $admin" >&2
  exit 1
}
if [ "$status" != 200 ]; then
  printf 'kubeadm: the sandbox answered %s: ' "$status" >&2
  cat "$answer" >&2
  echo >&2
  exit 1
fi
# "<exit code> <stdout bytes>\\n" then stdout then stderr
read -r code length < "$answer"
skip=$(( $(head -n 1 "$answer" | wc -c) + 1 ))
tail -c "+$skip" "$answer" | head -c "$length"
tail -c "+$(( skip + length ))" "$answer" >&2
exit "$code"
`;
}

/**
 * The text form of a kubeadm call's result, for the image's shell kubeadm (`accept: text/plain`): a first line
 * `<exit code> <stdout length in bytes>`, then stdout, then stderr, both verbatim.
 */
export function kubeadmTextResult(r: { code: number; stdout: string; stderr: string }): string {
  return `${r.code} ${Buffer.byteLength(r.stdout)}\n${r.stdout}${r.stderr}`;
}

/**
 * The argv of a `POST /admin/vm-kubeadm` body: JSON `{argv: string[]}` (apps/kube-sandbox's kubeadm) or form fields
 * `argv=…` in order (the shell kubeadm).
 * @returns the argv, or undefined when the body is neither.
 */
export function kubeadmArgv(contentType: string | undefined, body: unknown): string[] | undefined {
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) {
    return typeof body === 'string' ? new URLSearchParams(body).getAll('argv') : undefined;
  }
  const argv = (body as { argv?: unknown } | undefined)?.argv;
  return Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? (argv as string[]) : undefined;
}
