import { bootstrapTokenSecret, bootstrapTokenValid, kubeadmCertsSecret, openKubeadmCertsSecret } from './bootstrap-tokens';
import { newBootstrapToken, newCertificateKey } from './pki';

describe('bootstrap token Secrets', () => {
  it('has the format the bootstrap token authenticator reads, and is valid until its expiration', () => {
    const token = newBootstrapToken();
    const at = new Date('2026-12-03T10:00:00Z');
    const s = bootstrapTokenSecret(token, new Date(at.getTime() + 3600_000), 'join of w-1');
    const text = (k: string) => Buffer.from(s.data[k], 'base64').toString();
    expect(s.metadata).toEqual({ name: `bootstrap-token-${token.slice(0, 6)}`, namespace: 'kube-system' });
    expect(s.type).toBe('bootstrap.kubernetes.io/token');
    expect([text('token-id'), text('token-secret'), text('expiration'), text('usage-bootstrap-authentication'), text('usage-bootstrap-signing')])
      .toEqual([token.slice(0, 6), token.slice(7), '2026-12-03T11:00:00Z', 'true', 'true']);
    expect(bootstrapTokenValid(s, token, at)).toBe(true);
    expect(bootstrapTokenValid(s, token, new Date(at.getTime() + 3600_000))).toBe(false);
    expect(bootstrapTokenValid(s, `${token.slice(0, 7)}${'0'.repeat(16)}`, at)).toBe(false);
    expect(() => bootstrapTokenSecret('short.token', at, '')).toThrow(/\[a-z0-9\]\{6\}/);
  });
});

describe('the kubeadm-certs Secret', () => {
  it('round-trips the shared files with the key, refuses another key, and names files as kubeadm does', () => {
    const key = newCertificateKey();
    const files = { 'ca.crt': 'CA', 'ca.key': 'KEY', 'etcd/ca.crt': 'ETCD' };
    const s = kubeadmCertsSecret(files, key, { name: 'bootstrap-token-abcdef', uid: 'u-1' });
    expect(Object.keys(s.data).sort()).toEqual(['ca.crt', 'ca.key', 'etcd-ca.crt']);
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Secret', name: 'bootstrap-token-abcdef', uid: 'u-1' }]);
    expect(Buffer.from(s.data['ca.key'], 'base64').toString()).not.toContain('KEY');
    expect(openKubeadmCertsSecret(s, key)).toEqual(files);
    expect(() => openKubeadmCertsSecret(s, newCertificateKey())).toThrow('cipher: message authentication failed');
    expect(() => kubeadmCertsSecret(files, 'abc')).toThrow(/64 characters/);
  });
});
