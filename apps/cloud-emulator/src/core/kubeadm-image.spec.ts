import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { imageKubeadmScript, kubeadmArgv, kubeadmTextResult } from './kubeadm-image';

/** curl, which tools/validators.sh installs with the other tools the tests run (npm test's setup runs it). */
const CURL = ['/usr/bin/curl', '/bin/curl'].find((p) => existsSync(p));

describe('the sandbox image\'s kubeadm', () => {
  let dir: string;
  let tcp: http.Server;
  let unix: http.Server;
  let tcpUrl: string;
  let socket: string;
  const seen: { argv: string[]; auth: string | undefined; accept: string | undefined }[] = [];

  /** A stand-in for the sandbox's endpoint: answers with what kubeadm "printed", from the argv it was given. */
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      if (req.headers.authorization !== 'Bearer vm-secret') return void res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{"title":"Unknown VM"}');
      const argv = kubeadmArgv(req.headers['content-type'], text) ?? [];
      seen.push({ argv, auth: req.headers.authorization, accept: req.headers.accept });
      const code = argv[0] === 'fail' ? 3 : 0;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(kubeadmTextResult({ code, stdout: `out:${JSON.stringify(argv)}\n`, stderr: code ? 'error: it failed\nsecond line\n' : '' }));
    });
  };

  beforeAll(async () => {
    if (!CURL) throw new Error('curl is not installed: bash tools/validators.sh installs it');
    dir = mkdtempSync(path.join(tmpdir(), 'kubeadm-image-'));
    tcp = http.createServer(handler);
    await new Promise<void>((ok) => tcp.listen(0, '127.0.0.1', ok));
    tcpUrl = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    socket = path.join(dir, 'sandbox.sock');
    unix = http.createServer(handler);
    await new Promise<void>((ok) => unix.listen(socket, ok));
  });
  afterAll(async () => {
    await new Promise((ok) => tcp.close(ok));
    await new Promise((ok) => unix.close(ok));
    rmSync(dir, { recursive: true, force: true });
  });

  const install = (name: string, curl: string | undefined, command: string[] = ['/bin/echo', 'node-kubeadm']) => {
    const file = path.join(dir, name);
    writeFileSync(file, imageKubeadmScript(command, curl));
    chmodSync(file, 0o755);
    return file;
  };
  const run = (file: string, args: string[], env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((ok) => {
      execFile(file, args, { env: { PATH: process.env.PATH ?? '', ...env } }, (e, stdout, stderr) => ok({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr }));
    });

  const awkward = ['join', '--config', '/var/lib/my dir/kubeadm.yaml', `it's "quoted" $HOME \`x\` \\n`, 'a=b&c=d', 'ünïcødé ✓', 'two\nlines', ''];

  it('with curl: every argument reaches the sandbox as given, in order, over TCP and a Unix socket', async () => {
    const file = install('kubeadm-curl', CURL);
    for (const admin of [tcpUrl, `unix:${socket}`]) {
      seen.length = 0;
      const r = await run(file, awkward, { SKYWEAVE_SANDBOX_ADMIN_URL: admin, SKYWEAVE_SANDBOX_VM_TOKEN: 'vm-secret' });
      expect(r).toEqual({ code: 0, stdout: `out:${JSON.stringify(awkward)}\n`, stderr: '' });
      expect(seen).toEqual([{ argv: awkward, auth: 'Bearer vm-secret', accept: 'text/plain' }]);
    }
  });

  it('with curl: the exit code and stderr are kubeadm\'s; stdout and stderr stay apart', async () => {
    const r = await run(install('kubeadm-curl2', CURL), ['fail', 'now'], { SKYWEAVE_SANDBOX_ADMIN_URL: tcpUrl, SKYWEAVE_SANDBOX_VM_TOKEN: 'vm-secret' });
    expect(r).toEqual({ code: 3, stdout: 'out:["fail","now"]\n', stderr: 'error: it failed\nsecond line\n' });
  });

  it('with curl: a refusal, an unreachable sandbox and a missing VM secret exit 1 and say why', async () => {
    const file = install('kubeadm-curl3', CURL);
    const refused = await run(file, ['version'], { SKYWEAVE_SANDBOX_ADMIN_URL: tcpUrl, SKYWEAVE_SANDBOX_VM_TOKEN: 'wrong' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('kubeadm: the sandbox answered 401: {"title":"Unknown VM"}');
    const gone = await run(file, ['version'], { SKYWEAVE_SANDBOX_ADMIN_URL: `unix:${path.join(dir, 'nothing.sock')}`, SKYWEAVE_SANDBOX_VM_TOKEN: 'vm-secret' });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('kubeadm: the sandbox cannot be reached at unix:');
    const outside = await run(file, ['version'], {});
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('runs only on a sandbox VM');
  });

  it('the API server forwarder mode, and every call without curl, run the Node kubeadm with the same arguments', async () => {
    const args = ['--sandbox-apiserver-forward', '0.0.0.0:6443', '/run/x y.sock'];
    for (const [name, curl] of [['fwd-curl', CURL], ['fwd-node', undefined]] as const) {
      const r = await run(install(name, curl), args, {});
      expect(r).toEqual({ code: 0, stdout: `node-kubeadm ${args.join(' ')}\n`, stderr: '' });
    }
    const plain = await run(install('plain', undefined), ['join', 'it\'s'], {});
    expect(plain.stdout).toBe('node-kubeadm join it\'s\n');
  });

  it('reads the argv from JSON or from form fields in order, and nothing else', () => {
    expect(kubeadmArgv('application/json', { argv: ['init', '--config', 'f'] })).toEqual(['init', '--config', 'f']);
    expect(kubeadmArgv('application/x-www-form-urlencoded', 'argv=b&argv=a+c&other=x&argv=%26')).toEqual(['b', 'a c', '&']);
    expect(kubeadmArgv('application/json', { argv: ['ok', 1] })).toBeUndefined();
    expect(kubeadmArgv('application/json', undefined)).toBeUndefined();
    expect(kubeadmArgv('application/x-www-form-urlencoded', { argv: ['x'] })).toBeUndefined();
    expect(kubeadmTextResult({ code: 1, stdout: 'é\n', stderr: 'e' })).toBe('1 3\né\ne');
  });
});
