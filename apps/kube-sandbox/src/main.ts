import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { startKubeApiServer } from './server';

/**
 * skyweave-kube-sandbox — the sandbox cluster's Kubernetes API server (docs/kube-sandbox.md).
 *   --pki-dir DIR   kubeadm's layout: apiserver.crt, apiserver.key (serving), ca.crt (client CA); default /etc/kubernetes/pki
 *   --port N        HTTPS port (default 6443); --host H: address to bind (default 0.0.0.0)
 *   --bookmark-seconds N   interval of watch bookmarks (default 60)
 * Prints `listening <url>` once serving. SIGTERM / SIGINT close it and exit. State is in memory.
 */
const program = new Command('skyweave-kube-sandbox')
  .option('--pki-dir <dir>', 'directory with apiserver.crt, apiserver.key and ca.crt', '/etc/kubernetes/pki')
  .option('--port <n>', 'HTTPS port', '6443')
  .option('--host <address>', 'address to bind', '0.0.0.0')
  .option('--bookmark-seconds <n>', 'watch bookmark interval, seconds', '60')
  .parse();
const o = program.opts<{ pkiDir: string; port: string; host: string; bookmarkSeconds: string }>();

void (async () => {
  const read = (name: string) => readFileSync(path.join(o.pkiDir, name), 'utf8');
  const server = await startKubeApiServer({
    port: Number(o.port), host: o.host, tlsCert: read('apiserver.crt'), tlsKey: read('apiserver.key'), clientCa: read('ca.crt'),
    bookmarkIntervalSeconds: Number(o.bookmarkSeconds),
  });
  process.stdout.write(`listening ${server.url}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
})().catch((e: unknown) => {
  process.stderr.write(`kube-sandbox: ${(e as Error).message}\n`);
  process.exit(1);
});
