import { FakeClock } from './clock';
import { isoSeconds } from './controller';
import { computePdbStatus, DisruptionController, PDB_DELETION_TIMEOUT_MS, pdbScaledValue, Workloads } from './disruption';
import { InMemoryKubeObjects } from './objects';
import { KubeSim } from './sim';
import { Deployment, IntOrPercent, Pod, PodDisruptionBudget, ReplicaSet } from './types';

const T0 = Date.parse('2026-01-01T00:00:00Z');

const rs: ReplicaSet = {
  apiVersion: 'apps/v1', kind: 'ReplicaSet',
  metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }] },
  spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
};
const deploy: Deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', uid: 'd-uid' },
  spec: { replicas: 5, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
};
const workloads: Workloads = { replicasets: [rs], deployments: [deploy], statefulsets: [] };

function pod(name: string, o: { ready?: boolean; deleting?: boolean; owner?: 'rs' | 'none' | 'ds'; labels?: Record<string, string>; namespace?: string } = {}): Pod {
  const owner = o.owner ?? 'rs';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: o.namespace ?? 'default', labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: isoSeconds(T0 + 30_000) } : {}),
      ...(owner === 'rs' ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs-uid', controller: true }] } : {}),
      ...(owner === 'ds' ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'ds-uid', controller: true }] } : {}),
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function pdb(spec: { minAvailable?: IntOrPercent; maxUnavailable?: IntOrPercent }, o: { generation?: number; disruptedPods?: Record<string, string> } = {}): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: { name: 'web-pdb', namespace: 'default', generation: o.generation ?? 1 },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
    ...(o.disruptedPods ? { status: { disruptedPods: o.disruptedPods, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 } } : {}),
  };
}

const five = (): Pod[] => ['a', 'b', 'c', 'd', 'e'].map((n) => pod(`web-${n}`));

describe('disruption controller arithmetic (computePdbStatus)', () => {
  it('percent values round up (intstr.GetScaledValueFromIntOrPercent with roundUp)', () => {
    expect(pdbScaledValue('50%', 5)).toBe(3);
    expect(pdbScaledValue('20%', 5)).toBe(1);
    expect(pdbScaledValue('1%', 5)).toBe(1);
    expect(pdbScaledValue(2, 5)).toBe(2);
    expect(() => pdbScaledValue('2', 5)).toThrow('invalid value for IntOrString: invalid type: string is not a percentage');
  });

  it('minAvailable integer: expectedPods is the number of matching pods', () => {
    const { status } = computePdbStatus(pdb({ minAvailable: 3 }), five(), workloads, T0);
    expect(status).toMatchObject({ expectedPods: 5, currentHealthy: 5, desiredHealthy: 3, disruptionsAllowed: 2, observedGeneration: 1 });
    expect(status.conditions).toEqual([{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });

  it('minAvailable percent: expectedPods is the Deployment\'s scale (not the ReplicaSet\'s, not the pod count), rounded up', () => {
    const { status } = computePdbStatus(pdb({ minAvailable: '50%' }), five().slice(0, 4), workloads, T0);
    // 4 pods, ReplicaSet scale 4, Deployment scale 5: the Deployment counts; ceil(2.5) = 3
    expect(status).toMatchObject({ expectedPods: 5, currentHealthy: 4, desiredHealthy: 3, disruptionsAllowed: 1 });
  });

  it('a ReplicaSet without a Deployment counts with its own scale', () => {
    const bare: ReplicaSet = { ...rs, metadata: { ...rs.metadata, ownerReferences: [] } };
    const { status } = computePdbStatus(pdb({ maxUnavailable: 1 }), five(), { replicasets: [bare], deployments: [], statefulsets: [] }, T0);
    expect(status).toMatchObject({ expectedPods: 4, currentHealthy: 5, desiredHealthy: 3, disruptionsAllowed: 2 });
  });

  it('maxUnavailable integer and percent (rounded up) against the controller scale', () => {
    expect(computePdbStatus(pdb({ maxUnavailable: 1 }), five(), workloads, T0).status).toMatchObject({ expectedPods: 5, desiredHealthy: 4, currentHealthy: 5, disruptionsAllowed: 1 });
    // ceil(30% of 5) = 2 unavailable → 3 desired
    expect(computePdbStatus(pdb({ maxUnavailable: '30%' }), five(), workloads, T0).status).toMatchObject({ expectedPods: 5, desiredHealthy: 3, disruptionsAllowed: 2 });
    // more unavailable than expected: desired is 0, not negative
    expect(computePdbStatus(pdb({ maxUnavailable: 9 }), five(), workloads, T0).status).toMatchObject({ desiredHealthy: 0, disruptionsAllowed: 5 });
    // maxUnavailable 0 never allows a disruption
    const zero = computePdbStatus(pdb({ maxUnavailable: 0 }), five(), workloads, T0).status;
    expect(zero).toMatchObject({ desiredHealthy: 5, disruptionsAllowed: 0 });
    expect(zero.conditions?.[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });
  });

  it('not-Ready pods and pods being deleted are not healthy; pods of other namespaces or labels are not counted', () => {
    const pods = [pod('web-a'), pod('web-b', { ready: false }), pod('web-c', { deleting: true }), pod('web-d'), pod('other', { labels: { app: 'db' } }), pod('web-x', { namespace: 'prod' })];
    const { status } = computePdbStatus(pdb({ minAvailable: 2 }), pods, workloads, T0);
    expect(status).toMatchObject({ expectedPods: 4, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0 });
    expect(status.conditions?.[0]).toMatchObject({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' });
  });

  it('disruptedPods keep a pod out of currentHealthy for 2 minutes unless it is deleting; expired entries are dropped', () => {
    const recent = isoSeconds(T0 - 10_000);
    const old = isoSeconds(T0 - PDB_DELETION_TIMEOUT_MS - 1000);
    const pods = [pod('web-a'), pod('web-b'), pod('web-c', { deleting: true }), pod('web-d')];
    const r = computePdbStatus(pdb({ minAvailable: 1 }, { disruptedPods: { 'web-a': recent, 'web-b': old, 'web-c': recent, gone: recent } }), pods, workloads, T0);
    expect(r.status.disruptedPods).toEqual({ 'web-a': recent });
    expect(r.status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 });
    expect(r.recheckAtMs).toBe(T0 - 10_000 + PDB_DELETION_TIMEOUT_MS);
  });

  it('no matching pods: expectedPods 0 allows nothing; a generation not yet observed is observed', () => {
    const { status } = computePdbStatus(pdb({ maxUnavailable: 1 }, { generation: 3 }), [], workloads, T0);
    expect(status).toMatchObject({ expectedPods: 0, currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, observedGeneration: 3 });
  });

  it('a StatefulSet counts with its scale; an absent selector selects no pod, an empty one every pod of the namespace', () => {
    const ssPods = ['db-0', 'db-1'].map((n) => ({ ...pod(n), metadata: { ...pod(n).metadata, labels: { app: 'db' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'ss-uid', controller: true }] } }));
    const ss = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default', uid: 'ss-uid' }, spec: { replicas: 3, selector: { matchLabels: { app: 'db' } }, template: { spec: { containers: [] } } } };
    const dbPdb: PodDisruptionBudget = { ...pdb({ maxUnavailable: 1 }), spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } } };
    expect(computePdbStatus(dbPdb, ssPods, { ...workloads, statefulsets: [ss] }, T0).status).toMatchObject({ expectedPods: 3, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
    const none: PodDisruptionBudget = { ...pdb({ minAvailable: 1 }), spec: { minAvailable: 1 } };
    expect(computePdbStatus(none, five(), workloads, T0).status).toMatchObject({ expectedPods: 0, currentHealthy: 0 });
    const all: PodDisruptionBudget = { ...pdb({ minAvailable: 1 }), spec: { minAvailable: 1, selector: {} } };
    expect(computePdbStatus(all, [...five(), ...ssPods], workloads, T0).status).toMatchObject({ expectedPods: 7, currentHealthy: 7, disruptionsAllowed: 6 });
  });

  it('pods without a controller are reported as unmanaged; a DaemonSet has no scale', () => {
    const r = computePdbStatus(pdb({ maxUnavailable: 1 }), [pod('web-a'), pod('loose', { owner: 'none' })], workloads, T0);
    expect(r.unmanaged).toEqual(['loose']);
    expect(r.status.expectedPods).toBe(5);
    expect(() => computePdbStatus(pdb({ maxUnavailable: 1 }), [pod('agent-x', { owner: 'ds' })], workloads, T0)).toThrow('daemonsets.apps does not implement the scale subresource');
    // minAvailable as an integer needs no scale
    expect(computePdbStatus(pdb({ minAvailable: 1 }), [pod('agent-x', { owner: 'ds' })], workloads, T0).status).toMatchObject({ expectedPods: 1, disruptionsAllowed: 0 });
  });
});

describe('DisruptionController', () => {
  it('writes status once, then only on change; a controller without scale gets the fail-safe status', async () => {
    const clock = new FakeClock(T0);
    const objects = new InMemoryKubeObjects(clock);
    const ctl = new DisruptionController(objects, clock);
    await objects.create('replicasets', { ...rs, metadata: { name: 'web-abc', namespace: 'default' } });
    const created = (await objects.list('replicasets'))[0];
    for (const p of five()) {
      await objects.create('pods', { ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: created.metadata.uid ?? '', controller: true }] } });
      const stored = (await objects.get('pods', p.metadata.name ?? '', 'default'))!;
      await objects.updateStatus('pods', { ...stored, status: p.status });
    }
    await objects.create('poddisruptionbudgets', pdb({ maxUnavailable: 1 }));
    await ctl.syncAll();
    const first = (await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!;
    expect(first.status).toMatchObject({ expectedPods: 4, currentHealthy: 5, desiredHealthy: 3, disruptionsAllowed: 2, observedGeneration: 1 });
    await ctl.syncAll();
    expect((await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!.metadata.resourceVersion).toBe(first.metadata.resourceVersion);

    await objects.create('pods', pod('agent-1', { owner: 'ds', labels: { app: 'agent' } }));
    await objects.create('poddisruptionbudgets', { ...pdb({ maxUnavailable: 1 }), metadata: { name: 'agent-pdb', namespace: 'default' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'agent' } } } });
    await ctl.syncAll();
    const failed = (await objects.get('poddisruptionbudgets', 'agent-pdb', 'default'))!;
    expect(failed.status?.disruptionsAllowed).toBe(0);
    expect(failed.status?.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: 'daemonsets.apps does not implement the scale subresource' })]);
  });

  it('in KubeSim: a Deployment behind a PDB, healthy count following pods becoming Ready and being deleted', async () => {
    const clock = new FakeClock(T0);
    const objects = new InMemoryKubeObjects(clock);
    const errors: unknown[] = [];
    const sim = new KubeSim(objects, clock, { onError: (_c, e) => errors.push(e), kubelet: { podStartDelayMs: 1000 } });
    sim.start();
    for (const name of ['w1', 'w2']) {
      await sim.joinNode({ name, vcpu: 2, memoryMiB: 4096, instanceType: 't3.medium', region: 'r', zone: 'z', cloud: 'aws', nodeId: name, controlPlane: false, internalIP: name === 'w1' ? '10.0.0.1' : '10.0.0.2', podCIDR: name === 'w1' ? '10.244.1.0/24' : '10.244.2.0/24' });
    }
    const advance = (ms: number) => clock.advance(ms, () => sim.settle());
    await objects.create('deployments', { metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } });
    await objects.create('poddisruptionbudgets', pdb({ maxUnavailable: 1 }));
    await advance(500);
    expect((await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!.status).toMatchObject({ expectedPods: 3, currentHealthy: 0, desiredHealthy: 2, disruptionsAllowed: 0 });
    await advance(2000);
    expect((await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!.status).toMatchObject({ expectedPods: 3, currentHealthy: 3, desiredHealthy: 2, disruptionsAllowed: 1 });
    const victim = (await objects.list('pods', { labels: { app: 'web' } }))[0];
    await objects.delete('pods', victim.metadata.name ?? '', 'default', { gracePeriodSeconds: 30 });
    await advance(500);
    // the deleted pod is gone (the kubelet finished it), its replacement not Ready yet
    expect((await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!.status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 0 });
    await advance(2000);
    expect((await objects.get('poddisruptionbudgets', 'web-pdb', 'default'))!.status).toMatchObject({ currentHealthy: 3, disruptionsAllowed: 1 });
    sim.stop();
    expect(errors).toEqual([]);
  });
});
