import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { CONTROL_PLANE_HOST, LOCAL_API_PROXY_PORT } from '@skyweave/bootstrap/src/kubeadm';
import { generateClusterPki, issueApiServerCertificate, issueClientCertificate } from '@skyweave/bootstrap/src/pki';
import { RecordingExecutor } from '@skyweave/node-agent/src/executor';
import { CLUSTER_CA_PATH, KUBELET_CLIENT_PEM_PATH, getWithClientCertificate, readPodCidr } from '@skyweave/node-agent/src/kubelet-api';

/**
 * node-agent reads its Node in-process (kubelet-api.ts) as kubelet would: kubelet's client certificate, the cluster
 * CA, the control-plane endpoint's name, through HTTPS_PROXY's CONNECT tunnel unless NO_PROXY names the host. Real
 * TLS with the cluster PKI the platform makes, a real HTTPS server that requires a client certificate, and a CONNECT
 * proxy over loopback.
 */
describe('node-agent reads its Node with kubelet\'s credential', () => {
  let dir: string;
  let api: https.Server;
  let proxy: http.Server;
  let apiPort = 0;
  let proxyPort = 0;
  /** CONNECT targets the proxy was asked for, with their Proxy-Authorization. */
  const tunnels: { target: string; auth: string | undefined }[] = [];
  /** Client certificate subjects the API server saw. */
  const clients: string[] = [];
  const env = { ...process.env };
  /** Every socket either server accepted (tunnels included), destroyed before the servers close: the CONNECT tunnels
   *  end up half-open here (the proxy's side has written its end, its read side never sees the client's), and an
   *  open socket holds `server.close()` past the hook's timeout (it did: 180 s, every run). */
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  beforeAll(async () => {
    const pki = await generateClusterPki();
    const ca = { certificate: pki.caCertificate, key: pki.caKey };
    const serving = await issueApiServerCertificate(ca, { dnsNames: [CONTROL_PLANE_HOST], ipAddresses: ['127.0.0.1'] });
    const kubelet = await issueClientCertificate(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
    api = https.createServer({ cert: serving.certificate, key: serving.key, ca: pki.caCertificate, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      clients.push((req.socket as TLSSocket).getPeerCertificate().subject.CN as string);
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/v1/nodes/n1') res.end(JSON.stringify({ kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.3.0/24' } }));
      else if (req.url === '/api/v1/nodes/n2') res.end(JSON.stringify({ kind: 'Node', metadata: { name: 'n2' }, spec: {} }));
      else res.writeHead(404).end(JSON.stringify({ kind: 'Status', code: 404 }));
    });
    api.on('connection', track);
    await new Promise<void>((ok) => api.listen(0, '127.0.0.1', ok));
    apiPort = (api.address() as net.AddressInfo).port;
    // a CONNECT proxy that resolves the control-plane name itself (as the sandbox's proxy and a VM's /etc/hosts do)
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connection', track);
    proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      tunnels.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
      const upstream = net.connect(apiPort, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      track(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    proxyPort = (proxy.address() as net.AddressInfo).port;

    dir = mkdtempSync(path.join(tmpdir(), 'sw-kubelet-api-'));
    for (const [file, content] of [[CLUSTER_CA_PATH, pki.caCertificate], [KUBELET_CLIENT_PEM_PATH, `${kubelet.certificate}${kubelet.key}`]] as const) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content, { mode: 0o600 });
    }
  });
  afterEach(() => {
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    tunnels.length = 0;
    clients.length = 0;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((ok) => api.close(ok));
    await new Promise((ok) => proxy.close(ok));
    rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = { host: CONTROL_PLANE_HOST, port: LOCAL_API_PROXY_PORT, apiServers: [] };
  const reader = (nodeName: string, inProcess = true) => ({ executor: new RecordingExecutor(dir), nodeName, inProcess });

  it('reads spec.podCIDR through HTTPS_PROXY (CONNECT to the endpoint\'s name, proxy credentials sent) with kubelet\'s certificate', async () => {
    process.env.HTTPS_PROXY = `http://vm:s3cret@127.0.0.1:${proxyPort}`;
    await expect(readPodCidr(reader('n1'), endpoint)).resolves.toBe('10.244.3.0/24');
    expect(tunnels).toEqual([{ target: `${CONTROL_PLANE_HOST}:${LOCAL_API_PROXY_PORT}`, auth: `Basic ${Buffer.from('vm:s3cret').toString('base64')}` }]);
    expect(clients).toEqual(['system:node:n1']);
    // a Node without a range yet, and an unknown Node: not known yet (asked again next round)
    await expect(readPodCidr(reader('n2'), endpoint)).resolves.toBeUndefined();
    await expect(readPodCidr(reader('n3'), endpoint)).resolves.toBeUndefined();
  });

  it('dials directly when NO_PROXY names the host, and verifies the server against the cluster CA', async () => {
    process.env.HTTPS_PROXY = `http://127.0.0.1:${proxyPort}`;
    process.env.NO_PROXY = '127.0.0.1';
    const tls = { ca: readFileSync(path.join(dir, CLUSTER_CA_PATH), 'utf8'), clientPem: readFileSync(path.join(dir, KUBELET_CLIENT_PEM_PATH), 'utf8') };
    const a = await getWithClientCertificate(`https://127.0.0.1:${apiPort}`, '/api/v1/nodes/n1', tls);
    expect(a.status).toBe(200);
    expect(tunnels).toEqual([]);
    // another CA: the server's certificate is refused, nothing is read
    const other = await generateClusterPki();
    await expect(getWithClientCertificate(`https://127.0.0.1:${apiPort}`, '/api/v1/nodes/n1', { ...tls, ca: other.caCertificate })).rejects.toThrow(/certificate/);
  });

  it('without kubelet\'s files, or outside the node\'s network, asks kubectl (a recording executor: never knowable)', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'sw-kubelet-api-none-'));
    try {
      await expect(readPodCidr({ executor: new RecordingExecutor(empty), nodeName: 'n1', inProcess: true }, endpoint)).resolves.toBeNull();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await expect(readPodCidr(reader('n1', false), endpoint)).resolves.toBeNull();
    await expect(readPodCidr(reader('n1'), undefined)).resolves.toBeNull();
    expect(clients).toEqual([]);
  });
});
