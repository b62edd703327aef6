import { Subjects } from '@skyweave/contracts';
import { isUnsettled } from '@skyweave/domain';
import { AGENT_UPGRADE_RETRY_BASE_MS, AgentPackageView, CERTIFICATE_RENEWAL_RETRY_MS, ClusterView, DEFAULT_PLAN_OPTIONS, NetworkView, NodeView, OperationView, PlanOptions, REDISPATCH_AFTER_MS, planReconcile } from './plan';

const now = new Date('2026-11-21T12:00:00Z');
const readyCondition = { type: 'Ready', status: 'True' as const, reason: 'ClusterReady', message: '', lastTransitionTime: now.toISOString() };
/** A cluster row; one in phase Ready carries Ready=True, as the reconciler left it. */
const cluster = (over: Partial<ClusterView> = {}): ClusterView => ({ id: 'c', organisationId: 'o', phase: 'Pending', conditions: over.phase === 'Ready' ? [readyCondition] : [], deletionRequested: false, ...over });
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
    expect(Object.fromEntries(p.conditions.map((c) => [c.type, c.status]))).toEqual({
      CapacityAvailable: 'True', ControlPlaneReady: 'True', CredentialsValid: 'True', NetworksReady: 'True', Ready: 'True', RequestsAccepted: 'True', WorkersReady: 'True',
    });
    expect(p.events.map((e) => e.reason)).toContain('ClusterReady');
  });

  it('never fails: a refused network waits out its backoff with the cloud\'s reason on the cluster, then is ensured again', () => {
    const retryAt = new Date(now.getTime() + 30_000);
    const refused = { ...net('gcp', 'Provisioning', new Date(now.getTime() - 1000)), message: 'QUOTA_EXCEEDED: networks', waitingReason: 'QuotaExceeded', retryAt };
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [refused], [], now);
    expect(p.phase).toBe('Provisioning');
    expect(p.commands).toEqual([]);
    expect(p.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Waiting', message: expect.stringContaining('QUOTA_EXCEEDED') });
    expect(p.conditions.find((c) => c.type === 'CapacityAvailable')).toMatchObject({ status: 'False', reason: 'QuotaExceeded' });
    const later = planReconcile(cluster({ phase: 'Provisioning' }), [refused], [], new Date(retryAt.getTime() + 1));
    expect(later.commands).toEqual([{ subject: Subjects.NetworkEnsure, cloud: 'gcp' }]);
  });

  it('shows refused credentials as CredentialsValid=False naming the cloud, and a rejected launch as RequestsAccepted=False', () => {
    const retryAt = new Date(now.getTime() + 60_000);
    const nodes = [
      { ...node('m0', 'aws', 'master', 'Pending'), waitingReason: 'InvalidCredentials', message: 'aws: AuthFailure: AWS was not able to validate the provided access credentials', retryAt },
      { ...node('w0', 'aws', 'worker', 'Pending'), waitingReason: 'RequestRejected', message: 'aws: InvalidParameterValue: bad image', retryAt },
    ];
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [net('aws', 'Ready')], nodes, now);
    expect(p.commands).toEqual([]);
    expect(p.conditions.find((c) => c.type === 'CredentialsValid')).toMatchObject({ status: 'False', reason: 'InvalidCredentials', message: expect.stringContaining('m0 on AWS') });
    expect(p.conditions.find((c) => c.type === 'RequestsAccepted')).toMatchObject({ status: 'False', reason: 'RequestRejected', message: expect.stringContaining('bad image') });
    expect(p.phase).toBe('Provisioning');
  });
});

describe('planReconcile: removing a node', () => {
  const nets = [net('aws', 'Ready')];
  const m0 = { ...node('m0', 'aws', 'master', 'Joined'), ordinal: 0 };
  const w0 = { ...node('w0', 'aws', 'worker', 'Joined'), removalRequested: true };
  const drainOp = (state: OperationView['state'], deadlineAt = new Date(now.getTime() + 60_000)): OperationView => ({
    id: 'op1', kind: 'drain', purpose: 'removal', executorNodeId: 'm0', targetNodeId: 'w0', kubernetesVersion: null, state, message: state === 'Failed' ? 'pods would not evict' : null, deadlineAt, createdAt: now,
  });

  it('asks a master\'s agent to drain a removed worker first, and terminates nothing yet', () => {
    const p = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now);
    expect(p.newOperations).toEqual([expect.objectContaining({ kind: 'drain', purpose: 'removal', executorNodeId: 'm0', targetNodeId: 'w0', timeoutSeconds: 120 })]);
    expect(p.commands).toEqual([]);
    expect(p.events.map((e) => e.reason)).toEqual(['NodeDraining']);
    expect(planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now, [drainOp('Running')]).commands).toEqual([]);
  });

  it('terminates the worker once drained, and the cluster stays Ready without it', () => {
    const p = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now, [drainOp('Succeeded')]);
    expect(p.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
    expect(p.nodeUpdates).toEqual([{ id: 'w0', phase: 'Terminating' }]);
    expect(p.events.map((e) => e.reason)).toEqual(['NodeRemoving']);
    expect(p.phase).toBe('Ready');
    const inFlight = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, { ...w0, phase: 'Terminating', dispatchedAt: now }], now, [drainOp('Succeeded')]);
    expect(inFlight.commands).toEqual([]);
    const gone = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, { ...w0, phase: 'Terminated' }], now, [drainOp('Succeeded')]);
    expect(gone.commands).toEqual([]);
  });

  it('removes the worker anyway, with a warning, when the drain fails or passes its deadline', () => {
    const failed = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now, [drainOp('Failed')]);
    expect(failed.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
    expect(failed.events[0]).toMatchObject({ type: 'Warning', reason: 'DrainIncomplete', message: expect.stringContaining('pods would not evict') });
    const late = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, w0], now, [drainOp('Running', new Date(now.getTime() - 1))]);
    expect(late.timedOut).toEqual(['op1']);
    expect(late.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
    expect(late.events[0].message).toContain('timed out');
  });

  it('terminates at once a removed worker that never joined (nothing to drain)', () => {
    const p = planReconcile(cluster({ phase: 'Ready' }), nets, [m0, { ...w0, phase: 'Booting' }], now);
    expect(p.newOperations).toEqual([]);
    expect(p.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
  });
});

describe('planReconcile: quota and capacity', () => {
  it('says so at once with the cloud\'s reason and relaunches only after the backoff', () => {
    const waiting = { ...node('w0', 'gcp', 'worker', 'Pending', new Date(now.getTime() - 120_000)), waitingReason: 'QuotaExceeded', message: 'gcp: QUOTA_EXCEEDED: CPUS', retryAt: new Date(now.getTime() + 30_000) };
    const p = planReconcile(cluster({ phase: 'Provisioning' }), [net('gcp', 'Ready')], [waiting], now);
    expect(p.commands).toEqual([]);
    expect(p.phase).toBe('Provisioning');
    expect(p.conditions.find((c) => c.type === 'CapacityAvailable')).toMatchObject({ status: 'False', reason: 'QuotaExceeded', message: expect.stringContaining('QUOTA_EXCEEDED: CPUS') });
    const later = planReconcile(cluster({ phase: 'Provisioning' }), [net('gcp', 'Ready')], [waiting], new Date(now.getTime() + 31_000));
    expect(later.commands).toEqual([{ subject: Subjects.NodeLaunch, nodeId: 'w0' }]);
  });
});

describe('planReconcile: patch upgrade', () => {
  const nets = [net('aws', 'Ready')];
  const at = (v: string) => (n: NodeView): NodeView => ({ ...n, kubernetesVersion: v });
  const m0 = at('1.31.4')({ ...node('m0', 'aws', 'master', 'Joined'), ordinal: 0 });
  const m1 = at('1.31.4')({ ...node('m1', 'aws', 'master', 'Joined'), ordinal: 1 });
  const w0 = at('1.31.4')({ ...node('w0', 'aws', 'worker', 'Joined'), ordinal: 0 });
  const ready = cluster({ phase: 'Ready', kubernetesVersion: '1.31.5' });
  const op = (kind: OperationView['kind'], target: string, state: OperationView['state'], executor = 'm1'): OperationView => ({
    id: `${kind}-${target}`, kind, purpose: 'upgrade', executorNodeId: executor, targetNodeId: target, kubernetesVersion: '1.31.5', state, message: state === 'Failed' ? 'kubeadm upgrade apply: exit 1' : null, deadlineAt: new Date(now.getTime() + 60_000), createdAt: now,
  });

  it('drains the first master through another master\'s agent, then upgrades it with kubeadm upgrade apply, then uncordons', () => {
    const p1 = planReconcile(ready, nets, [m0, m1, w0], now);
    expect(p1.newOperations).toEqual([expect.objectContaining({ kind: 'drain', executorNodeId: 'm1', targetNodeId: 'm0', kubernetesVersion: '1.31.5' })]);
    expect(p1.conditions.find((c) => c.type === 'Upgraded')).toMatchObject({ status: 'False', reason: 'Upgrading' });
    const p2 = planReconcile(ready, nets, [m0, m1, w0], now, [op('drain', 'm0', 'Succeeded')]);
    expect(p2.newOperations).toEqual([expect.objectContaining({ kind: 'upgrade', executorNodeId: 'm0', targetNodeId: 'm0', upgradeControlPlane: true })]);
    const p3 = planReconcile(ready, nets, [m0, m1, w0], now, [op('drain', 'm0', 'Succeeded'), op('upgrade', 'm0', 'Succeeded', 'm0')]);
    expect(p3.newOperations).toEqual([expect.objectContaining({ kind: 'uncordon', executorNodeId: 'm1', targetNodeId: 'm0' })]);
    const p4 = planReconcile(ready, nets, [m0, m1, w0], now, [op('drain', 'm0', 'Succeeded'), op('upgrade', 'm0', 'Succeeded', 'm0'), op('uncordon', 'm0', 'Succeeded')]);
    expect(p4.nodeUpdates).toEqual([{ id: 'm0', kubernetesVersion: '1.31.5' }]);
    expect(p4.newOperations).toEqual([]);
  });

  it('goes on with the next master (kubeadm upgrade node), workers last, and ends Upgraded=True', () => {
    const m0new = at('1.31.5')(m0);
    const p = planReconcile(ready, nets, [m0new, m1, w0], now, [op('drain', 'm1', 'Succeeded', 'm0')]);
    expect(p.newOperations).toEqual([expect.objectContaining({ kind: 'upgrade', targetNodeId: 'm1', upgradeControlPlane: false })]);
    const workerNext = planReconcile(ready, nets, [m0new, at('1.31.5')(m1), w0], now);
    expect(workerNext.newOperations).toEqual([expect.objectContaining({ kind: 'drain', targetNodeId: 'w0', executorNodeId: 'm0' })]);
    const done = planReconcile(ready, nets, [m0new, at('1.31.5')(m1), at('1.31.5')(w0)], now);
    expect(done.conditions.find((c) => c.type === 'Upgraded')).toMatchObject({ status: 'True', reason: 'UpToDate' });
  });

  it('stops the rollout at a failed node with a condition naming it and why', () => {
    const p = planReconcile(ready, nets, [m0, m1, w0], now, [op('drain', 'm0', 'Succeeded'), op('upgrade', 'm0', 'Failed', 'm0')]);
    expect(p.newOperations).toEqual([]);
    expect(p.conditions.find((c) => c.type === 'Upgraded')).toMatchObject({ status: 'False', reason: 'UpgradeFailed', message: expect.stringMatching(/m0: upgrade failed: kubeadm upgrade apply: exit 1/) });
    expect(p.events.map((e) => e.reason)).toEqual(['UpgradeFailed']);
  });

  it('does not roll out while a node is being replaced', () => {
    expect(planReconcile(ready, nets, [m0, m1, { ...w0, phase: 'Pending' }], now).newOperations).toEqual([]);
  });
});

describe('planReconcile: certificate renewal (kubeadm "Certificate Management with kubeadm")', () => {
  const DAY = 24 * 3600_000;
  const nets = [net('aws', 'Ready')];
  const ready = cluster({ phase: 'Ready' });
  const expiring = (days: number, name = 'apiserver') => [{ name, expiresAt: new Date(now.getTime() + days * DAY).toISOString() }, { name: 'ca-unrelated', expiresAt: new Date(now.getTime() + DAY).toISOString() }];
  const master = (id: string, ordinal: number, certs: NodeView['certificateExpirations']): NodeView => ({ ...node(id, 'aws', 'master', 'Joined'), ordinal, certificateExpirations: certs });
  const w0 = node('w0', 'aws', 'worker', 'Joined');
  const renewal = (executor: string, state: OperationView['state'], deadlineAt: Date): OperationView => ({
    id: `renew-${executor}`, kind: 'renew-certificates', purpose: 'certificates', executorNodeId: executor, targetNodeId: executor, kubernetesVersion: null, state, message: null, deadlineAt, createdAt: now,
  });

  it('asks a master\'s own agent to renew once its API server or admin certificate has under 30 days left, not before', () => {
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(31)), w0], now).newOperations).toEqual([]);
    // an unrelated certificate expiring tomorrow is not this renewal's business; one not reported yet neither
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(200)), master('m1', 1, null), w0], now).newOperations).toEqual([]);
    for (const name of ['apiserver', 'admin.conf']) {
      const p = planReconcile(ready, nets, [master('m0', 0, expiring(29, name)), w0], now);
      expect(p.newOperations).toEqual([{ kind: 'renew-certificates', purpose: 'certificates', executorNodeId: 'm0', targetNodeId: 'm0', kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: 300 }]);
      expect(p.events).toEqual([expect.objectContaining({ reason: 'CertificatesRenewing', object: 'node/m0', message: expect.stringContaining(`${name} expires`) })]);
    }
    // an expired one too
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(-3)), w0], now).newOperations).toHaveLength(1);
  });

  it('renews one master at a time, and none while that master runs another operation', () => {
    const masters = [master('m0', 0, expiring(5)), master('m1', 1, expiring(5))];
    expect(planReconcile(ready, nets, [...masters, w0], now).newOperations.map((o) => o.executorNodeId)).toEqual(['m0']);
    const running = renewal('m0', 'Running', new Date(now.getTime() + 60_000));
    expect(planReconcile(ready, nets, [...masters, w0], now, [running]).newOperations).toEqual([]);
    const drain: OperationView = { ...running, id: 'd', kind: 'drain', purpose: 'removal', targetNodeId: 'w0' };
    expect(planReconcile(ready, nets, [...masters, w0], now, [drain]).newOperations.map((o) => o.executorNodeId)).toEqual(['m1']);
  });

  it('settles on the new expiry the agent reports; a failed renewal is tried again an hour after its deadline', () => {
    const past = new Date(now.getTime() - 10 * 60_000);
    // renewed: the result’s expiry (a year on) is recorded, so nothing is due whatever the last operation was
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(365)), w0], new Date(now.getTime() + 2 * CERTIFICATE_RENEWAL_RETRY_MS), [renewal('m0', 'Succeeded', past)]).newOperations).toEqual([]);
    const failed = [renewal('m0', 'Failed', past)];
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(20)), w0], now, failed).newOperations).toEqual([]);
    const later = new Date(past.getTime() + CERTIFICATE_RENEWAL_RETRY_MS + 1);
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(20)), w0], later, failed).newOperations).toEqual([expect.objectContaining({ kind: 'renew-certificates', executorNodeId: 'm0' })]);
  });

  it('renews while a worker is being replaced (one waiting out a quota refusal must not let the API\'s certificate expire), not while the cluster is first provisioned', () => {
    expect(planReconcile(ready, nets, [master('m0', 0, expiring(5)), { ...w0, phase: 'Pending', retryAt: new Date(now.getTime() + DAY), waitingReason: 'QuotaExceeded' }], now).newOperations)
      .toEqual([expect.objectContaining({ kind: 'renew-certificates', executorNodeId: 'm0' })]);
    expect(planReconcile(cluster({ phase: 'Provisioning' }), nets, [master('m0', 0, expiring(5)), { ...w0, phase: 'Booting' }], now).newOperations).toEqual([]);
  });
});

describe('planReconcile: agent upgrade (like a node upgrade: one node at a time, masters first)', () => {
  const nets = [net('aws', 'Ready')];
  const NEW = '0.1.0-bbbbbbbbbbbb';
  const OLD = '0.1.0-aaaaaaaaaaaa';
  const pkg: AgentPackageView = { version: NEW, url: `/v1/agent-packages/${NEW}/skyweave-node-agent-${NEW}.js`, sha256: 'b'.repeat(64), bytes: 123 };
  const options: PlanOptions = { ...DEFAULT_PLAN_OPTIONS, agentPackage: pkg };
  const runs = (v: string | null) => (n: NodeView): NodeView => ({ ...n, agentVersion: v });
  const m0 = runs(OLD)({ ...node('m0', 'aws', 'master', 'Joined'), ordinal: 0 });
  const m1 = runs(OLD)({ ...node('m1', 'aws', 'master', 'Joined'), ordinal: 1 });
  const w0 = runs(OLD)({ ...node('w0', 'aws', 'worker', 'Joined'), ordinal: 0 });
  const ready = cluster({ phase: 'Ready' });
  const upgradeOp = (target: string, state: OperationView['state'], over: Partial<OperationView> = {}): OperationView => ({
    id: `ua-${target}-${state}`, kind: 'upgrade-agent', purpose: 'agent-upgrade', executorNodeId: target, targetNodeId: target, kubernetesVersion: null, state,
    message: state === 'Failed' ? `upgrade-agent: sha256 mismatch for http://x: expected ${'b'.repeat(64)}` : null,
    deadlineAt: new Date(now.getTime() + 60_000), createdAt: now, finishedAt: state === 'Pending' || state === 'Running' ? null : now, agentPackage: pkg, ...over,
  });
  const agentCondition = (p: ReturnType<typeof planReconcile>) => p.conditions.find((c) => c.type === 'AgentUpgraded');

  it('asks the first master\'s own agent to upgrade itself to the platform\'s bundle, and nothing else', () => {
    const p = planReconcile(ready, nets, [w0, m1, m0], now, [], options);
    expect(p.newOperations).toEqual([{
      kind: 'upgrade-agent', purpose: 'agent-upgrade', executorNodeId: 'm0', targetNodeId: 'm0', kubernetesVersion: null, upgradeControlPlane: false,
      timeoutSeconds: 300, agentPackage: pkg,
    }]);
    expect(p.events).toEqual([expect.objectContaining({ reason: 'AgentUpgrading', object: 'node/m0', message: expect.stringContaining(`from ${OLD} to ${NEW}`) })]);
    expect(agentCondition(p)).toMatchObject({ status: 'False', reason: 'AgentUpgrading', message: expect.stringContaining('m0 (1/3)') });
  });

  it('waits while that upgrade is in flight and until the node reports the new version, then goes on with the next node, workers last', () => {
    expect(planReconcile(ready, nets, [m0, m1, w0], now, [upgradeOp('m0', 'Running')], options).newOperations).toEqual([]);
    // reported done, the agent restarting: still m0's turn until it reports the new version
    const restarting = planReconcile(ready, nets, [m0, m1, w0], now, [upgradeOp('m0', 'Succeeded')], options);
    expect(restarting.newOperations).toEqual([]);
    expect(agentCondition(restarting)?.message).toMatch(/m0 \(1\/3\) restarting/);
    const next = planReconcile(ready, nets, [runs(NEW)(m0), m1, w0], now, [upgradeOp('m0', 'Succeeded')], options);
    expect(next.newOperations).toEqual([expect.objectContaining({ kind: 'upgrade-agent', targetNodeId: 'm1' })]);
    const worker = planReconcile(ready, nets, [runs(NEW)(m0), runs(NEW)(m1), w0], now, [], options);
    expect(worker.newOperations).toEqual([expect.objectContaining({ targetNodeId: 'w0', executorNodeId: 'w0' })]);
  });

  it('ends AgentUpgraded=True once every node reports the version, with one AgentUpgradeComplete event', () => {
    const nodes = [runs(NEW)(m0), runs(NEW)(m1), runs(NEW)(w0)];
    const upgrading = cluster({ phase: 'Ready', conditions: [readyCondition, { type: 'AgentUpgraded', status: 'False', reason: 'AgentUpgrading', message: '', lastTransitionTime: now.toISOString() }] });
    const done = planReconcile(upgrading, nets, nodes, now, [], options);
    expect(agentCondition(done)).toMatchObject({ status: 'True', reason: 'AgentsUpToDate', message: `Every node's agent runs ${NEW}` });
    expect(done.events.map((e) => e.reason)).toEqual(['AgentUpgradeComplete']);
    expect(planReconcile(cluster({ phase: 'Ready', conditions: done.conditions }), nets, nodes, now, [], options).events).toEqual([]);
  });

  it('leaves alone nodes whose agent reported no version, and plans nothing without a package', () => {
    const p = planReconcile(ready, nets, [runs(null)(m0), runs(NEW)(m1), runs(null)(w0)], now, [], options);
    expect(p.newOperations).toEqual([]);
    expect(agentCondition(p)?.message).toContain('2 node(s) have not reported a version');
    const none = planReconcile(ready, nets, [m0, m1, w0], now, [], DEFAULT_PLAN_OPTIONS);
    expect(none.newOperations).toEqual([]);
    expect(agentCondition(none)).toBeUndefined();
  });

  it('never runs beside another operation: not while a Kubernetes rollout, a removal\'s drain or a renewal is in flight, and not while nodes are being replaced', () => {
    const drain: OperationView = { ...upgradeOp('w0', 'Running'), id: 'd', kind: 'drain', purpose: 'upgrade', executorNodeId: 'm1', kubernetesVersion: '1.31.5', agentPackage: null };
    const p = planReconcile(ready, nets, [m0, m1, w0], now, [drain], options);
    expect(p.newOperations).toEqual([]);
    expect(agentCondition(p)?.message).toContain('waiting for the operations in flight');
    // a Kubernetes rollout due in the same pass goes first
    const both = planReconcile(cluster({ phase: 'Ready', kubernetesVersion: '1.31.5' }), nets, [m0, m1, w0].map((n) => ({ ...n, kubernetesVersion: '1.31.4' })), now, [], options);
    expect(both.newOperations.map((o) => o.kind)).toEqual(['drain']);
    // and the Kubernetes rollout waits for an agent upgrade in flight
    expect(planReconcile(cluster({ phase: 'Ready', kubernetesVersion: '1.31.5' }), nets, [m0, m1, w0].map((n) => ({ ...n, kubernetesVersion: '1.31.4' })), now, [upgradeOp('m0', 'Running')], options).newOperations).toEqual([]);
    expect(planReconcile(ready, nets, [m0, m1, { ...w0, phase: 'Pending' }], now, [], options).newOperations).toEqual([]);
  });

  it('backs off after a failure (condition naming the node and the error, one Warning), then tries the same node again, doubling the wait', () => {
    const failed = upgradeOp('m0', 'Failed');
    const p = planReconcile(ready, nets, [m0, m1, w0], now, [failed], options);
    expect(p.newOperations).toEqual([]);
    const retryAt = new Date(now.getTime() + AGENT_UPGRADE_RETRY_BASE_MS).toISOString();
    expect(agentCondition(p)).toMatchObject({ status: 'False', reason: 'AgentUpgradeFailed', message: expect.stringMatching(new RegExp(`stopped at m0 \\(attempt 1\\): upgrade-agent failed: upgrade-agent: sha256 mismatch.*retry at ${retryAt}`)) });
    expect(p.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'AgentUpgradeFailed', object: 'node/m0' })]);
    // the same failure again: no second event
    expect(planReconcile(cluster({ phase: 'Ready', conditions: p.conditions }), nets, [m0, m1, w0], now, [failed], options).events).toEqual([]);
    const later = new Date(now.getTime() + AGENT_UPGRADE_RETRY_BASE_MS + 1);
    const retry = planReconcile(ready, nets, [m0, m1, w0], later, [failed], options);
    expect(retry.newOperations).toEqual([expect.objectContaining({ kind: 'upgrade-agent', targetNodeId: 'm0' })]);
    expect(retry.events[0].message).toContain('(attempt 2)');
    // a second failure waits twice as long; a timed-out one counts the same
    const second = { ...upgradeOp('m0', 'TimedOut'), id: 'ua-2' };
    expect(planReconcile(ready, nets, [m0, m1, w0], new Date(now.getTime() + 2 * AGENT_UPGRADE_RETRY_BASE_MS - 1), [failed, second], options).newOperations).toEqual([]);
    expect(planReconcile(ready, nets, [m0, m1, w0], new Date(now.getTime() + 2 * AGENT_UPGRADE_RETRY_BASE_MS + 1), [failed, second], options).newOperations).toHaveLength(1);
  });

  it('takes a reported install whose agent never came back on the new version, at its deadline, as a failure', () => {
    const deadlineAt = new Date(now.getTime() - 1);
    const p = planReconcile(ready, nets, [m0, m1, w0], now, [upgradeOp('m0', 'Succeeded', { deadlineAt })], options);
    expect(p.newOperations).toEqual([]);
    expect(agentCondition(p)).toMatchObject({ reason: 'AgentUpgradeFailed', message: expect.stringContaining(`still reports ${OLD}`) });
  });

  it('never blocks a delete: a cluster being deleted terminates its VMs whatever agent upgrade is in flight or failed', () => {
    const p = planReconcile(cluster({ phase: 'Ready', deletionRequested: true }), nets, [m0, w0], now, [upgradeOp('m0', 'Running'), upgradeOp('w0', 'Failed')], options);
    expect(p.phase).toBe('Deleting');
    expect(p.commands).toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'm0' }, { subject: Subjects.NodeTerminate, nodeId: 'w0' }]);
    expect(p.newOperations).toEqual([]);
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

  it('keeps a blocked delete Deleting with DeleteBlocked naming the VM, and retries it after the backoff', () => {
    const retryAt = new Date(now.getTime() + 30_000);
    const blocked = { ...net('aws', 'Deleting', new Date(now.getTime() - 1000)), waitingReason: 'ForeignResourcesInNetwork', retryAt, message: 'VM(s) not belonging to this cluster are in its network: intruder (i-1)' };
    const p = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [blocked], [], now);
    expect(p.phase).toBe('Deleting');
    expect(p.conditions.find((c) => c.type === 'DeleteBlocked')).toMatchObject({ status: 'True', reason: 'ForeignResourcesInNetwork', message: expect.stringContaining('intruder (i-1)') });
    expect(p.commands).toEqual([]);
    expect(p.events.map((e) => e.reason)).toEqual(['DeleteBlocked']);
    const retry = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true, conditions: p.conditions }), [blocked], [], new Date(retryAt.getTime() + 1));
    expect(retry.commands).toEqual([{ subject: Subjects.NetworkDelete, cloud: 'aws' }]);
    expect(retry.events).toEqual([]);
    const done = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true, conditions: p.conditions }), [net('aws', 'Deleted')], [], now);
    expect(done.phase).toBe('Deleted');
    expect(done.conditions.find((c) => c.type === 'DeleteBlocked')).toBeUndefined();
    expect(done.removeConditions).toContain('DeleteBlocked');
  });

  it('keeps terminating with revoked credentials at a backoff (not on every pass), saying CredentialsValid=False', () => {
    const retryAt = new Date(now.getTime() + 30_000);
    const stuck = { ...node('m0', 'aws', 'master', 'Terminating', new Date(now.getTime() - 1000)), waitingReason: 'InvalidCredentials', retryAt, message: 'aws: AuthFailure' };
    const p = planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [net('aws', 'Ready')], [stuck], now);
    expect(p.commands).toEqual([]);
    expect(p.conditions.find((c) => c.type === 'CredentialsValid')).toMatchObject({ status: 'False', reason: 'InvalidCredentials', message: expect.stringContaining('on AWS') });
    expect(planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [net('aws', 'Ready')], [stuck], new Date(retryAt.getTime() + 1)).commands)
      .toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'm0' }]);
    // credentials replaced: the API cleared the backoff and dispatch, so the terminate goes at once
    expect(planReconcile(cluster({ phase: 'Deleting', deletionRequested: true }), [net('aws', 'Ready')], [{ ...stuck, retryAt: null, dispatchedAt: null }], now).commands)
      .toEqual([{ subject: Subjects.NodeTerminate, nodeId: 'm0' }]);
  });
});

describe('planReconcile agrees with isUnsettled (the re-drive\'s predicate)', () => {
  const snapshot = (c: ClusterView, nets: NetworkView[], nodes: NodeView[]) => ({ phase: c.phase, deletionRequested: c.deletionRequested, networks: nets, nodes, operations: [] });

  it('does not re-drive a Ready cluster with a refused network forever: settled while it waits, one ensure once the backoff is over', () => {
    const retryAt = new Date(now.getTime() + 900_000);
    const c = cluster({ phase: 'Ready' });
    const nets = [{ ...net('aws', 'Provisioning', new Date(now.getTime() - 1000)), waitingReason: 'InvalidCredentials', message: 'aws: AuthFailure', retryAt }];
    const nodes = [node('m0', 'aws', 'master', 'Joined')];
    expect(isUnsettled(snapshot(c, nets, nodes), now)).toBe(false);
    expect(planReconcile(c, nets, nodes, now).commands).toEqual([]);
    const after = new Date(retryAt.getTime() + 1);
    expect(isUnsettled(snapshot(c, nets, nodes), after)).toBe(true);
    expect(planReconcile(c, nets, nodes, after).commands).toEqual([{ subject: Subjects.NetworkEnsure, cloud: 'aws' }]);
  });

  it('whenever a pass would send a command, the cluster is unsettled', () => {
    const c = cluster({ phase: 'Ready' });
    const cases: [NetworkView[], NodeView[]][] = [
      [[net('aws', 'Provisioning')], []],
      [[net('aws', 'Ready')], [node('m0', 'aws', 'master', 'Pending')]],
      [[net('aws', 'Ready')], [{ ...node('w0', 'aws', 'worker', 'Joined'), removalRequested: true }]],
      [[net('aws', 'Ready')], [{ ...node('w0', 'aws', 'worker', 'Pending'), retryAt: new Date(now.getTime() - 1), waitingReason: 'QuotaExceeded' }]],
    ];
    for (const [nets, nodes] of cases) {
      const p = planReconcile(c, nets, nodes, now);
      if (p.commands.length || p.newOperations.length) expect(isUnsettled(snapshot(c, nets, nodes), now)).toBe(true);
    }
  });
});
