import type { NodeEntity } from '@skyweave/persistence';
import { kubeconfigServer } from './kubeconfig-server';
import { controlPlaneAccess } from './mesh-config';

type Master = Pick<NodeEntity, 'id' | 'ordinal' | 'phase' | 'publicIp' | 'privateIp'>;
const master = (ordinal: number, o: Partial<Master> = {}): Master => ({ id: `m${ordinal}`, ordinal, phase: 'Joined', publicIp: `198.51.100.${ordinal + 1}`, privateIp: `10.10.0.${ordinal + 4}`, ...o });

describe("the user's kubeconfig names a live master", () => {
  it("master-0's public IP while it is Ready; a Ready master once master-0 is not; its private IP without a public one", () => {
    const masters = [master(0), master(1), master(2)];
    const ready = (ids: string[], notReady: string[] = []) => [...ids.map((nodeId) => ({ nodeId, ready: 'True' as const })), ...notReady.map((nodeId) => ({ nodeId, ready: 'Unknown' as const }))];
    expect(kubeconfigServer(masters, ready(['m0', 'm1', 'm2']))).toBe('https://198.51.100.1:6443');
    // master-0's VM lost: its Node NotReady (kubelet silent), then its row reset for a replacement
    expect(kubeconfigServer(masters, ready(['m1', 'm2'], ['m0']))).toBe('https://198.51.100.2:6443');
    expect(kubeconfigServer([master(0, { phase: 'Pending', publicIp: null, privateIp: null }), master(1), master(2)], ready(['m1', 'm2']))).toBe('https://198.51.100.2:6443');
    expect(kubeconfigServer([master(0, { phase: 'Joining' }), master(1, { publicIp: null }), master(2)], ready(['m1', 'm2']))).toBe('https://10.10.0.5:6443');
    // before the platform's Kubernetes view has the Nodes: joined masters by ordinal
    expect(kubeconfigServer(masters, [])).toBe('https://198.51.100.1:6443');
    expect(kubeconfigServer([master(0, { publicIp: null, privateIp: null })], [])).toBeUndefined();
  });
});

describe("a node's way to the API: every master by overlay address, master-0 first", () => {
  const row = (o: Partial<NodeEntity>) => ({ role: 'worker', ordinal: 0, phase: 'Joined', wireguardAddress: '10.4.0.9', ...o }) as NodeEntity;
  it('lists every master in the mesh (live or being replaced: the proxy checks their health), never a worker, and nothing without a master', () => {
    const rows = [
      row({ role: 'master', ordinal: 2, wireguardAddress: '10.4.0.3' }), row({ role: 'worker', wireguardAddress: '10.4.0.4' }),
      row({ role: 'master', ordinal: 0, phase: 'Pending', wireguardAddress: '10.4.0.1' }), row({ role: 'master', ordinal: 1, wireguardAddress: '10.4.0.2' }),
    ];
    expect(controlPlaneAccess(rows)).toEqual({ host: 'control-plane.skyweave.internal', port: 6444, apiServers: ['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443'] });
    expect(controlPlaneAccess([rows[1]])).toBeUndefined();
    expect(controlPlaneAccess(rows.map((r) => (r.ordinal === 2 && r.role === 'master' ? { ...r, phase: 'Terminated' } as NodeEntity : r)))?.apiServers).toEqual(['10.4.0.1:6443', '10.4.0.2:6443']);
  });
});
