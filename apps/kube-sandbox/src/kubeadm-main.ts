import * as http from 'node:http';
import * as net from 'node:net';
import { splice } from './splice';

/**
 * `kubeadm` of the sandbox's VM image (docs/kube-sandbox.md, "On the sandbox's VMs"). The image has no kubelet,
 * container runtime or etcd, so this kubeadm asks the sandbox (the hypervisor, as it were) to do what kubeadm does on
 * this VM: `POST <SKYWEAVE_SANDBOX_ADMIN_URL>/admin/vm-kubeadm` (an `http://` URL, or `unix:<socket>` from a VM in
 * its own network namespace) with the VM's secret (`SKYWEAVE_SANDBOX_VM_TOKEN`, set by the image for its units) and the
 * argv; prints what the sandbox answers and exits with its code. Arguments and config files are kubeadm's own
 * (init --config F --upload-certs, join --config F, upgrade apply|node).
 *
 * `--sandbox-apiserver-forward <host:port> <socket>` is the image's stand-in for the kube-apiserver static pod's
 * listening socket (the namespace-VMs only): it listens on host:port inside the VM's namespace and pipes each
 * connection to the sandbox's API server of this master through the Unix socket.
 * Exit codes: kubeadm's (0 ok, 1 failed); 1 too when the sandbox cannot be reached.
 */
const argv = process.argv.slice(2);

if (argv[0] === '--sandbox-apiserver-forward') {
  const [, listen, socket] = argv;
  const m = /^(.+):(\d+)$/.exec(listen ?? '');
  if (!m || !socket) {
    process.stderr.write('usage: --sandbox-apiserver-forward <host:port> <unix socket>\n');
    process.exit(2);
  }
  const server = net.createServer((c) => splice(c, net.connect(socket)));
  server.on('error', (e) => {
    process.stderr.write(`apiserver forward: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(Number(m[2]), m[1]);
  process.once('SIGTERM', () => process.exit(0));
} else {
  const admin = process.env.SKYWEAVE_SANDBOX_ADMIN_URL;
  const token = process.env.SKYWEAVE_SANDBOX_VM_TOKEN;
  if (!admin || !token) {
    process.stderr.write('kubeadm: this is the sandbox image\'s kubeadm; it runs only on a sandbox VM (SKYWEAVE_SANDBOX_ADMIN_URL and SKYWEAVE_SANDBOX_VM_TOKEN unset)\n');
    process.exit(1);
  }
  const body = JSON.stringify({ argv });
  const where = admin.startsWith('unix:') ? { socketPath: admin.slice('unix:'.length), path: '/admin/vm-kubeadm' } : (() => {
    const u = new URL('/admin/vm-kubeadm', admin);
    return { host: u.hostname, port: Number(u.port), path: u.pathname };
  })();
  const req = http.request({
    ...where,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    timeout: 300_000,
  }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (res.statusCode !== 200) {
        process.stderr.write(`kubeadm: the sandbox answered ${res.statusCode ?? '?'}: ${text}\n`);
        process.exit(1);
      }
      const r = JSON.parse(text) as { code: number; stdout: string; stderr: string };
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exit(r.code);
    });
  });
  req.on('timeout', () => req.destroy(new Error('no answer from the sandbox in 300 s')));
  req.on('error', (e) => {
    process.stderr.write(`kubeadm: ${e.message}\n`);
    process.exit(1);
  });
  req.end(body);
}
