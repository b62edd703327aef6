import * as http from 'node:http';

/**
 * `kubeadm` of the sandbox's VM image (docs/kube-sandbox.md, "On the sandbox's VMs"). The image has no kubelet,
 * container runtime or etcd, so this kubeadm asks the sandbox (the hypervisor, as it were) to do what kubeadm does on
 * this VM: `POST <SKYWEAVE_SANDBOX_ADMIN_URL>/admin/vm-kubeadm` with the VM's secret (`SKYWEAVE_SANDBOX_VM_TOKEN`, set by
 * the image for its units) and the argv; prints what the sandbox answers and exits with its code. Arguments and config
 * files are kubeadm's own (init --config F --upload-certs, join --config F, upgrade apply|node).
 * Exit codes: kubeadm's (0 ok, 1 failed); 1 too when the sandbox cannot be reached.
 */
const admin = process.env.SKYWEAVE_SANDBOX_ADMIN_URL;
const token = process.env.SKYWEAVE_SANDBOX_VM_TOKEN;
if (!admin || !token) {
  process.stderr.write('kubeadm: this is the sandbox image\'s kubeadm; it runs only on a sandbox VM (SKYWEAVE_SANDBOX_ADMIN_URL and SKYWEAVE_SANDBOX_VM_TOKEN unset)\n');
  process.exit(1);
}
const body = JSON.stringify({ argv: process.argv.slice(2) });
const req = http.request(new URL('/admin/vm-kubeadm', admin), {
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
