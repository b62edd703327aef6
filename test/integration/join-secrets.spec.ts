import {
  ClusterPki, KUBEADM_CERTS_TTL_MS, apiServerSans, caCertHash, joinConfiguration, clusterConfiguration, generateClusterPki, initConfiguration, issueApiServerCertificate, pkiFiles, renderKubeadmConfig,
} from '@skyweave/bootstrap';
import { ClusterApiUnavailable, JOIN_TOKEN_TTL_MS, JoinSecrets, SharedControlPlaneFiles } from '@skyweave/api-gateway/src/join-secrets';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { openKubeadmCertsSecret } from '@skyweave/bootstrap';
import { SandboxKube, startSandboxKube } from '../support/sandbox-kube';

/*
 * The gateway's join secrets against a sandbox control plane (its API server through the sandbox's proxy, as in the
 * sandbox cloud): a fresh token per join, the control-plane certificates uploaded again when they expire soon, and a
 * clear error when the API cannot be reached.
 */
describe('join secrets through the cluster\'s Kubernetes API', () => {
  let kube: SandboxKube;
  let pki: ClusterPki;
  let files: SharedControlPlaneFiles;
  const access = () => ({ clusterName: 'c', caCertificate: pki.caCertificate, adminCertificate: pki.adminCertificate, adminKey: pki.adminKey, apiHosts: ['198.51.100.7'] });

  beforeAll(async () => {
    kube = await startSandboxKube();
    pki = await generateClusterPki();
    const apiServer = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1'], extraIps: ['10.10.0.4', '198.51.100.7'] }));
    await kube.init({
      kubeadmConfig: renderKubeadmConfig([
        initConfiguration({ node: { name: 'm0', address: '10.4.0.1' }, bootstrapToken: pki.secrets.bootstrapToken, certificateKey: pki.secrets.certificateKey }),
        clusterConfiguration({ clusterName: 'c', kubernetesVersion: '1.34.2', controlPlaneEndpoint: '10.4.0.1:6443' }),
      ]),
      files: pkiFiles({
        ca: { certificate: pki.caCertificate, key: pki.caKey },
        frontProxyCa: { certificate: pki.public.frontProxyCaCertificate, key: pki.secrets.frontProxyCaKey },
        etcdCa: { certificate: pki.public.etcdCaCertificate, key: pki.secrets.etcdCaKey },
        serviceAccount: { key: pki.secrets.serviceAccountKey, publicKey: pki.public.serviceAccountPublicKey },
        apiServer,
      }),
    }, { instanceId: 'i-m0', privateIp: '10.10.0.4', publicIp: '198.51.100.7' });
    files = {
      'ca.crt': pki.caCertificate, 'ca.key': pki.caKey, 'sa.key': pki.secrets.serviceAccountKey, 'sa.pub': pki.public.serviceAccountPublicKey,
      'front-proxy-ca.crt': pki.public.frontProxyCaCertificate, 'front-proxy-ca.key': pki.secrets.frontProxyCaKey,
      'etcd/ca.crt': pki.public.etcdCaCertificate, 'etcd/ca.key': pki.secrets.etcdCaKey,
    };
  });
  afterAll(async () => {
    await kube?.close();
  });

  it('creates a fresh, distinct, short-lived token per join', async () => {
    const js = new JoinSecrets(kube.endpoints);
    const a = await js.tokenForJoin(access(), 'w-1');
    const b = await js.tokenForJoin(access(), 'w-2');
    expect(a).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(b).not.toBe(a);
    expect(a).not.toBe(pki.secrets.bootstrapToken);
    expect(JOIN_TOKEN_TTL_MS).toBeLessThanOrEqual(3600_000);
  });

  it('keeps uploaded certificates that have time left, and uploads them again when they expire soon', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://198.51.100.7:6443', caData: Buffer.from(pki.caCertificate).toString('base64'), proxyUrl: kube.endpoints.kubernetes.proxyUrl }],
      users: [{ name: 'a', certData: Buffer.from(pki.adminCertificate).toString('base64'), keyData: Buffer.from(pki.adminKey).toString('base64') }],
      contexts: [{ name: 'a', cluster: 'c', user: 'a' }], currentContext: 'a',
    });
    const core = kc.makeApiClient(CoreV1Api);
    const certs = () => core.readNamespacedSecret({ namespace: 'kube-system', name: 'kubeadm-certs' });
    const before = await certs();
    // kubeadm init uploaded them with the cluster's key moments ago: nothing to do
    await new JoinSecrets(kube.endpoints).ensureCertificatesUploaded(access(), files, pki.secrets.certificateKey);
    expect((await certs()).metadata?.uid).toBe(before.metadata?.uid);
    // 1 h 45 min later only 15 min would be left (under 30): uploaded again, owned by a new token, with the cluster's key
    const later = new JoinSecrets(kube.endpoints, () => Date.now() + KUBEADM_CERTS_TTL_MS - 15 * 60_000);
    await later.ensureCertificatesUploaded(access(), files, pki.secrets.certificateKey);
    const after = await certs();
    expect(after.metadata?.uid).not.toBe(before.metadata?.uid);
    expect(after.metadata?.ownerReferences?.[0]?.uid).not.toBe(before.metadata?.ownerReferences?.[0]?.uid);
    expect(openKubeadmCertsSecret(after as { data?: Record<string, string> }, pki.secrets.certificateKey)).toEqual(files);
  });

  it('reaches a master whose certificate does not name the address it is dialled at (verified as `kubernetes`)', async () => {
    // master-1 joins the control plane: kubeadm's certificate for it names the endpoint, its overlay address and
    // `kubernetes`, not its public IP
    await kube.join(renderKubeadmConfig([joinConfiguration({
      node: { name: 'm1', address: '10.4.0.2' }, controlPlaneEndpoint: '10.4.0.1:6443', bootstrapToken: pki.secrets.bootstrapToken,
      caCertHash: caCertHash(pki.caCertificate), certificateKey: pki.secrets.certificateKey,
    })]), { instanceId: 'i-m1', privateIp: '10.10.0.5', publicIp: '198.51.100.8' });
    await expect(new JoinSecrets(kube.endpoints).tokenForJoin({ ...access(), apiHosts: ['198.51.100.8'] }, 'w-6')).resolves.toMatch(/^[a-z0-9]{6}\./);
  });

  it('tries the next master when one cannot be reached, and says when none can (the agent then gets a 503 and asks again)', async () => {
    const js = new JoinSecrets(kube.endpoints);
    // master-0's VM gone (nothing listens there any more): the next master serves the join
    await expect(js.tokenForJoin({ ...access(), apiHosts: ['198.51.100.99', '198.51.100.7'] }, 'w-3')).resolves.toMatch(/^[a-z0-9]{6}\./);
    await expect(js.tokenForJoin({ ...access(), apiHosts: ['198.51.100.99'] }, 'w-4')).rejects.toBeInstanceOf(ClusterApiUnavailable);
    await expect(js.tokenForJoin({ ...access(), apiHosts: [] }, 'w-5')).rejects.toBeInstanceOf(ClusterApiUnavailable);
  });
});
