import { parseAllDocuments } from 'yaml';
import {
  ClusterConfiguration, InitConfiguration, JoinConfiguration, clusterConfiguration, controlPlaneEndpoint, initConfiguration, joinConfiguration, pkiFiles, renderKubeadmConfig,
} from './kubeadm';
import { caCertHash, generateClusterPki, newBootstrapToken, newCertificateKey } from './pki';
import { nodeLabels } from './kubernetes';

/** Parses a rendered stream as kubeadm would read it (YAML 1.1). */
const parseStream = (s: string) => parseAllDocuments(s, { version: '1.1' }).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS() as Record<string, unknown>;
});

describe('kubeadm configuration (v1beta4)', () => {
  const token = newBootstrapToken();
  const certificateKey = newCertificateKey();
  const endpoint = controlPlaneEndpoint();

  it('the control-plane endpoint is every node\'s API server proxy, by a name no public DNS answers: the same for the cluster\'s whole life', () => {
    expect(endpoint).toBe('control-plane.skyweave.internal:6444');
    // not a master's address, and not the port a master's own kube-apiserver binds on all addresses
    expect(endpoint).not.toMatch(/^\d/);
    expect(endpoint.endsWith(':6443')).toBe(false);
  });

  it('renders InitConfiguration and ClusterConfiguration for master-0', () => {
    const yaml = renderKubeadmConfig([
      initConfiguration({ node: { name: 'sw-1a2b3c4d-master-0', address: '10.4.0.1' }, bootstrapToken: token, certificateKey }),
      clusterConfiguration({ clusterName: 'prod', kubernetesVersion: '1.31.4', controlPlaneEndpoint: endpoint, certSans: ['10.10.0.4', '198.51.100.7'] }),
    ]);
    expect(yaml).toMatch(/\n---\n/);
    const [init, cluster] = parseStream(yaml) as unknown as [InitConfiguration, ClusterConfiguration];
    expect(init).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration',
      bootstrapTokens: [{ token, ttl: '24h0m0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
      nodeRegistration: { name: 'sw-1a2b3c4d-master-0', kubeletExtraArgs: [{ name: 'node-ip', value: '10.4.0.1' }] },
      localAPIEndpoint: { advertiseAddress: '10.4.0.1', bindPort: 6443 },
      certificateKey,
    });
    expect(init.bootstrapTokens[0].token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(init.certificateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(cluster).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration',
      clusterName: 'prod', kubernetesVersion: 'v1.31.4', controlPlaneEndpoint: 'control-plane.skyweave.internal:6444', certificatesDir: '/etc/kubernetes/pki', encryptionAlgorithm: 'ECDSA-P256',
      networking: { podSubnet: '10.217.0.0/16', serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local' },
      apiServer: { certSANs: ['10.10.0.4', '198.51.100.7'] },
    });
    expect(clusterConfiguration({ clusterName: 'x', kubernetesVersion: 'v1.32.0', controlPlaneEndpoint: endpoint })).toMatchObject({ kubernetesVersion: 'v1.32.0', apiServer: {} });
  });

  it('renders a JoinConfiguration pinned to the CA: masters join the control plane with the certificate key, workers do not', async () => {
    const pin = caCertHash((await generateClusterPki()).caCertificate);
    const master = parseStream(renderKubeadmConfig([joinConfiguration({ node: { name: 'm-1', address: '10.4.0.2' }, controlPlaneEndpoint: endpoint, bootstrapToken: token, caCertHash: pin, certificateKey })]));
    const worker = parseStream(renderKubeadmConfig([joinConfiguration({ node: { name: 'w-0', address: '10.4.0.4' }, controlPlaneEndpoint: endpoint, bootstrapToken: token, caCertHash: pin })]));
    expect(master).toHaveLength(1);
    const [m] = master as unknown as [JoinConfiguration];
    const [w] = worker as unknown as [JoinConfiguration];
    expect(m).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'JoinConfiguration',
      nodeRegistration: { name: 'm-1', kubeletExtraArgs: [{ name: 'node-ip', value: '10.4.0.2' }] },
      discovery: { bootstrapToken: { apiServerEndpoint: 'control-plane.skyweave.internal:6444', token, caCertHashes: [pin] } },
      controlPlane: { localAPIEndpoint: { advertiseAddress: '10.4.0.2', bindPort: 6443 }, certificateKey },
    });
    expect(m.discovery.bootstrapToken.caCertHashes[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(m.discovery.bootstrapToken.token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(w.kind).toBe('JoinConfiguration');
    expect(w).not.toHaveProperty('controlPlane');
    expect(w.nodeRegistration.kubeletExtraArgs).toEqual([{ name: 'node-ip', value: '10.4.0.4' }]);
  });

  it('passes the node labels to kubelet as --node-labels (the well-known ones and Skyweave\'s; Azure zones as <region>-<n>)', () => {
    const labels = nodeLabels({ cloud: 'azure', nodeId: '6f1c0e0a-2b7d-4c1e-9d3a-0c5e7b9a1f22', instanceType: 'Standard_B2s', region: 'eastus', zone: '1' });
    expect(labels).toEqual({
      'node.kubernetes.io/instance-type': 'Standard_B2s', 'topology.kubernetes.io/region': 'eastus', 'topology.kubernetes.io/zone': 'eastus-1',
      'skyweave.io/cloud': 'azure', 'skyweave.io/node-id': '6f1c0e0a-2b7d-4c1e-9d3a-0c5e7b9a1f22',
    });
    expect(nodeLabels({ cloud: 'aws', nodeId: 'x', instanceType: 't3.medium', region: 'us-east-1', zone: 'us-east-1a' })['topology.kubernetes.io/zone']).toBe('us-east-1a');
    const [j] = parseStream(renderKubeadmConfig([joinConfiguration({ node: { name: 'w-1', address: '10.4.0.4', labels }, controlPlaneEndpoint: endpoint, bootstrapToken: '123456.1234567890123456', caCertHash: 'sha256:00' })])) as unknown as [JoinConfiguration];
    expect(j.nodeRegistration.kubeletExtraArgs).toEqual([
      { name: 'node-ip', value: '10.4.0.4' },
      { name: 'node-labels', value: 'node.kubernetes.io/instance-type=Standard_B2s,topology.kubernetes.io/region=eastus,topology.kubernetes.io/zone=eastus-1,skyweave.io/cloud=azure,skyweave.io/node-id=6f1c0e0a-2b7d-4c1e-9d3a-0c5e7b9a1f22' },
    ]);
  });

  it('quotes strings a YAML 1.1 parser would read as numbers', () => {
    const [j] = parseStream(renderKubeadmConfig([joinConfiguration({ node: { name: '0123', address: '10.4.0.4' }, controlPlaneEndpoint: endpoint, bootstrapToken: '123456.1234567890123456', caCertHash: 'sha256:00' })])) as unknown as [JoinConfiguration];
    expect(j.nodeRegistration.name).toBe('0123');
    expect(j.discovery.bootstrapToken.token).toBe('123456.1234567890123456');
  });

  it('lays out the PKI files master-0 writes under /etc/kubernetes/pki, keys 0600', () => {
    const pair = (n: string) => ({ certificate: `${n}-crt`, key: `${n}-key` });
    const files = pkiFiles({ ca: pair('ca'), frontProxyCa: pair('fp'), etcdCa: pair('etcd'), serviceAccount: { key: 'sa-key', publicKey: 'sa-pub' }, apiServer: pair('api') });
    expect(files.map((f) => [f.path, f.mode, f.content])).toEqual([
      ['/etc/kubernetes/pki/ca.crt', 0o644, 'ca-crt'], ['/etc/kubernetes/pki/ca.key', 0o600, 'ca-key'],
      ['/etc/kubernetes/pki/front-proxy-ca.crt', 0o644, 'fp-crt'], ['/etc/kubernetes/pki/front-proxy-ca.key', 0o600, 'fp-key'],
      ['/etc/kubernetes/pki/etcd/ca.crt', 0o644, 'etcd-crt'], ['/etc/kubernetes/pki/etcd/ca.key', 0o600, 'etcd-key'],
      ['/etc/kubernetes/pki/sa.key', 0o600, 'sa-key'], ['/etc/kubernetes/pki/sa.pub', 0o644, 'sa-pub'],
      ['/etc/kubernetes/pki/apiserver.crt', 0o644, 'api-crt'], ['/etc/kubernetes/pki/apiserver.key', 0o600, 'api-key'],
    ]);
  });
});
