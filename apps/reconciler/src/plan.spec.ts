import { Subjects } from '@skyweave/contracts';
import { ClusterView, NetworkView, NodeView, REDISPATCH_AFTER_MS, planReconcile } from './plan';

const now = new Date('2026-11-21T12:00:00Z');
const cluster = (over: Partial<ClusterView> = {}): ClusterView => ({ id: 'c', organisationId: 'o', phase: 'Pending', conditions: [], deletionRequested: false, ...over });
const net = (cloud: NetworkView['cloud'], phase: NetworkView['phase'], dispatchedAt: Date | null = null): NetworkView => ({ cloud, phase, message: null, dispatchedAt });
const node = (id: string, cloud: NodeView['cloud'], role: NodeView['role'], phase: NodeView['phase'], dispatchedAt: Date | null = null): NodeView => ({ id, name: id, cloud, role, phase, message: null, dispatchedAt, removalRequested: false });

describe('planReconcile: create', () => {
  it('ensures every cloud\'s network at once and launches nothing before its network is ready', () => {
    const p = planReconcile(cluster(), [net('aws', 'Pending'), net('gcp', 'Pending')], [node('m0', 'aws', 'master', 'Pending')], now);
    expect(p.phase).toBe('Provisioning');
    expect(p.commands).toEqual([{ subject: Subjects.NetworkEnsure, cloud: 'aws' }, { subject: Subjects.NetworkEnsure, cloud: 'gcp' }]);
  });

  it('launches a cloud\'s nodes as soon as that cloud\'s network is ready', () => {
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [net('aws', 'Ready'), net('gcp', 'Provisioning', now)],
      [node('m0', 'aws', 'master', 'Pending'), node('w0', 'gcp', 'worker', 'Pending')], now);
    expect(p.commands).toEqual([{ subject: Subjects.NodeLaunch, nodeId: 'm0' }]);
  });

  it('sends a node\'s launch once while it is still Pending, not on every pass', () => {
    const nets = [net('aws', 'Ready')];
    const sent = planReconcile(cluster({ phase: 'Provisioning' }), nets, [node('m0', 'aws', 'master', 'Pending', null)], now);
    expect(sent.commands).toEqual([{ subject: Subjects.NodeLaunch, nodeId: 'm0' }]);
    const again = planReconcile(cluster({ phase: 'Provisioning' }), nets, [node('m0', 'aws', 'master', 'Pending', new Date(now.getTime() - 500))], now);
    expect(again.commands).toEqual([]);
  });

  it('does not resend a command until it is stale, then resends it', () => {
    const recent = new Date(now.getTime() - 1000);
    const old = new Date(now.getTime() - REDISPATCH_AFTER_MS - 1);
    const nets = [net('aws', 'Ready')];
    expect(planReconcile(cluster({ phase: 'Provisioning' }), nets, [node('m0', 'aws', 'master', 'Launching', recent)], now).commands).toEqual([]);
    expect(planReconcile(cluster({ phase: 'Provisioning' }), nets, [node('m0', 'aws', 'master', 'Launching', old)], now).commands).toEqual([{ subject: Subjects.NodeLaunch, nodeId: 'm0' }]);
    expect(planReconcile(cluster({ phase: 'Provisioning' }), [net('aws', 'Provisioning', old)], [], now).commands).toEqual([{ subject: Subjects.NetworkEnsure, cloud: 'aws' }]);
  });

  it('becomes Ready when every network is ready and every node has joined, with summarised conditions', () => {
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [net('aws', 'Ready')], [node('m0', 'aws', 'master', 'Joined'), node('w0', 'aws', 'worker', 'Joined')], now);
    expect(p.phase).toBe('Ready');
    expect(Object.fromEntries(p.conditions.map((c) => [c.type, c.status]))).toEqual({ ControlPlaneReady: 'True', NetworksReady: 'True', Ready: 'True', WorkersReady: 'True' });
    expect(p.events.map((e) => e.reason)).toContain('ClusterReady');
  });

  it('fails at once with the cloud\'s reason when a network fails', () => {
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [{ ...net('gcp', 'Failed'), message: 'QUOTA_EXCEEDED: networks' }], [], now);
    expect(p.phase).toBe('Failed');
    expect(p.conditions.find((c) => c.type === 'Ready')?.message).toContain('QUOTA_EXCEEDED');
  });
});

describe('planReconcile: removing a node', () => {
  it('terminates a removed worker of a Ready cluster once, and the cluster stays Ready without it', () => {
    const nets = [net('aws', 'Ready')];
    const m0 = node('m0', 'aws', 'master', 'Joined');
    const w0 = { ...node('w0', 'aws', 'worker', 'Joined'), removalRequested: true };
    const p = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now);
    expect(p.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
    expect(p.nodeUpdates).toEqual([{ id: 'w0', phase: 'Terminating' }]);
    expect(p.events.map((e) => e.reason)).toEqual(['NodeRemoving']);
    expect(p.phase).toBe('Ready');
    const inFlight = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, { ...w0, phase: 'Terminating', dispatchedAt: now }], now);
    expect(inFlight.commands).toEqual([]);
    const gone = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, { ...w0, phase: 'Terminated' }], now);
    expect(gone.commands).toEqual([]);
  });
});

describe('planReconcile: delete', () => {
  it('terminates every VM first, without touching networks', () => {
    const p = planReconcile(cluster({ phase: 'Ready', deletionRequested: true }), [net('aws', 'Ready')], [node('m0', 'aws', 'master', 'Joined'), node('w0', 'aws', 'worker', 'Pending')], now);
    expect(p.phase).toBe('Deleting');
    expect(p.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'm0' }, { subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
  });

  it('deletes networks once every VM is terminated, then reports Deleted', () => {
    const nodes = [node('m0', 'aws', 'master', 'Terminated')];
    const p = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [net('aws', 'Ready'), net('gcp', 'Deleted')], nodes, now);
    expect(p.commands).toEqual([{ subject: Subjects.NetworkDelete, cloud: 'aws' }]);
    const done = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [net('aws', 'Deleted')], nodes, now);
    expect(done.phase).toBe('Deleted');
  });

  it('fails the delete with DeleteFailed naming the refusal, and waits for the user', () => {
    const blocked = { ...net('aws', 'Failed'), message: 'VM(s) not belonging to this cluster are in its network: intruder (i-1)' };
    const p = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [blocked], [], now);
    expect(p.phase).toBe('Failed');
    expect(p.conditions.find((c) => c.type === 'DeleteFailed')).toMatchObject({ status: 'True', message: expect.stringContaining('intruder (i-1)') });
    expect(planReconcile(cluster({ phase: 'Failed', deletionRequested: true, conditions: p.conditions }), [blocked], [], now).commands).toEqual([]);
  });
});
