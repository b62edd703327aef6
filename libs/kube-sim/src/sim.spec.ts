import { FakeClock } from './clock';
import { KubeletMachine } from './kubelet';
import { InMemoryKubeObjects } from './objects';
import { KubeSim } from './sim';
import { Deployment, Pod } from './types';

/** A 7-node cluster (3 masters, 4 workers, 2 vCPU / 4096 MiB each) on a fake clock. */
async function cluster(options: ConstructorParameters<typeof KubeSim>[2] = {}) {
  const clock = new FakeClock();
  const objects = new InMemoryKubeObjects(clock);
  const errors: unknown[] = [];
  const sim = new KubeSim(objects, clock, { onError: (_c, e) => errors.push(e), ...options });
  sim.start();
  const machines: KubeletMachine[] = [];
  for (let i = 0; i < 7; i++) {
    const master = i < 3;
    machines.push({
      name: master ? `master-${i}` : `worker-${i - 3}`,
      vcpu: 2,
      memoryMiB: 4096,
      instanceType: 't3.medium',
      region: 'us-east-1',
      zone: 'us-east-1a',
      cloud: 'aws',
      nodeId: `00000000-0000-4000-8000-00000000000${i}`,
      controlPlane: master,
      internalIP: `10.0.0.${10 + i}`,
      podCIDR: `10.244.${i}.0/24`,
    });
  }
  for (const m of machines) await sim.joinNode(m);
  await sim.settle();
  const advance = (ms: number) => clock.advance(ms, () => sim.settle());
  return { clock, objects, sim, errors, advance };
}

function deployment(name: string, replicas: number, cpu = '100m', memory = '128Mi'): Deployment {
  return {
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: { requests: { cpu, memory } } }] } },
    },
  };
}

/** What `kubectl rollout status` waits for (kubectl polymorphichelpers/rollout_status.go). */
function rolledOut(d: Deployment | undefined, replicas: number): boolean {
  const s = d?.status;
  return !!d && !!s && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) && s.updatedReplicas === replicas && s.replicas === replicas && s.availableReplicas === replicas;
}

const podsOf = async (objects: InMemoryKubeObjects, app: string): Promise<Pod[]> => (await objects.list('pods', { labels: { app } })).filter((p) => !p.metadata.deletionTimestamp);

describe('KubeSim', () => {
  it('registers every node as kubelet and kubeadm would, Ready, with a Lease', async () => {
    const { objects, sim } = await cluster();
    const nodes = await objects.list('nodes');
    expect(nodes).toHaveLength(7);
    const master = nodes.find((n) => n.metadata.name === 'master-0')!;
    expect(master.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'master-0',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 't3.medium',
      'topology.kubernetes.io/region': 'us-east-1',
      'topology.kubernetes.io/zone': 'us-east-1a',
      'skyweave.io/cloud': 'aws',
      'skyweave.io/node-id': '00000000-0000-4000-8000-000000000000',
      'node-role.kubernetes.io/control-plane': '',
    });
    expect(master.spec?.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    const worker = nodes.find((n) => n.metadata.name === 'worker-0')!;
    expect(worker.spec?.taints).toBeUndefined();
    expect(worker.metadata.labels?.['node-role.kubernetes.io/control-plane']).toBeUndefined();
    expect(worker.status?.capacity).toEqual({ cpu: '2', memory: '4194304Ki', pods: '110' });
    expect(worker.status?.allocatable).toEqual({ cpu: '1930m', memory: '3043328Ki', pods: '110' });
    for (const n of nodes) expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const lease = await objects.get('leases', 'worker-0', 'kube-node-lease');
    expect(lease?.spec).toMatchObject({ holderIdentity: 'worker-0', leaseDurationSeconds: 40 });
    sim.stop();
  });

  it('runs a deployment of 20 pods on workers only, scales it, and rolls out a resources change', async () => {
    const { objects, sim, advance, errors } = await cluster();
    await objects.create('deployments', deployment('web', 20));
    await advance(5_000);
    const pods = await podsOf(objects, 'web');
    expect(pods).toHaveLength(20);
    expect(pods.every((p) => p.spec.nodeName?.startsWith('worker-'))).toBe(true);
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(4); // least-allocated spreads them
    expect(pods.every((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
    const ips = pods.map((p) => p.status?.podIP);
    expect(new Set(ips).size).toBe(20);
    for (const p of pods) {
      const i = Number(p.spec.nodeName!.split('-')[1]) + 3;
      expect(p.status?.podIP).toMatch(new RegExp(`^10\\.244\\.${i}\\.\\d+$`));
      expect(p.status?.hostIP).toBe(`10.0.0.${10 + i}`);
      expect(p.metadata.labels?.['pod-template-hash']).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    }
    let web = await objects.get('deployments', 'web', 'default');
    expect(rolledOut(web, 20)).toBe(true);
    expect(web?.status?.conditions?.map((c) => [c.type, c.reason])).toEqual([
      ['Available', 'MinimumReplicasAvailable'],
      ['Progressing', 'NewReplicaSetAvailable'],
    ]);

    // kubectl scale --replicas=5
    await objects.update('deployments', { ...web!, spec: { ...web!.spec, replicas: 5 } });
    await advance(5_000);
    expect(await podsOf(objects, 'web')).toHaveLength(5);
    web = await objects.get('deployments', 'web', 'default');
    expect(rolledOut(web, 5)).toBe(true);

    // kubectl set resources: a new template rolls out; availability never drops below replicas - maxUnavailable
    const minAvailable: number[] = [];
    const stopWatch = objects.watch('deployments', (e) => minAvailable.push(e.object.status?.availableReplicas ?? 0));
    const template = structuredClone(web!.spec.template);
    template.spec.containers[0].resources = { requests: { cpu: '200m', memory: '256Mi' } };
    await objects.update('deployments', { ...web!, spec: { ...web!.spec, template } });
    for (let i = 0; i < 10 && !rolledOut(await objects.get('deployments', 'web', 'default'), 5); i++) await advance(2_000);
    stopWatch();
    web = await objects.get('deployments', 'web', 'default');
    expect(rolledOut(web, 5)).toBe(true);
    expect(Math.min(...minAvailable)).toBeGreaterThanOrEqual(4); // 5 - floor(25% of 5)
    const after = await podsOf(objects, 'web');
    expect(after).toHaveLength(5);
    expect(after.every((p) => p.spec.containers[0].resources?.requests?.cpu === '200m')).toBe(true);
    const sets = await objects.list('replicasets');
    expect(sets.map((rs) => rs.spec.replicas).sort()).toEqual([0, 5]);
    expect(web?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect(errors).toEqual([]);
    sim.stop();
  });

  it('counts pods available only minReadySeconds after they are Ready', async () => {
    const { objects, sim, advance } = await cluster();
    await objects.create('deployments', { ...deployment('slow', 3), spec: { ...deployment('slow', 3).spec, minReadySeconds: 10 } });
    await advance(3_000);
    const status = async () => (await objects.get('deployments', 'slow', 'default'))?.status;
    expect(await status()).toMatchObject({ readyReplicas: 3, availableReplicas: 0 });
    await advance(8_000); // pods were Ready at 2 s: available from 12 s
    expect((await status())?.availableReplicas).toBe(0);
    await advance(2_000);
    expect(await status()).toMatchObject({ readyReplicas: 3, availableReplicas: 3 });
    sim.stop();
  });

  it('leaves a pod that fits nowhere Pending with kube-scheduler\'s Unschedulable condition and a FailedScheduling event', async () => {
    const { objects, sim, advance } = await cluster();
    await objects.create('deployments', deployment('big', 5, '1500m'));
    await advance(5_000);
    const pods = await podsOf(objects, 'big');
    expect(pods.filter((p) => p.status?.phase === 'Running')).toHaveLength(4);
    const pending = pods.filter((p) => !p.spec.nodeName);
    expect(pending).toHaveLength(1);
    const expected =
      '0/7 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 4 Insufficient cpu. ' +
      'preemption: 0/7 nodes are available: 3 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod.';
    expect(pending[0].status?.phase).toBe('Pending');
    expect(pending[0].status?.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: expected });
    const events = (await objects.list('events')).filter((e) => e.involvedObject.uid === pending[0].metadata.uid);
    expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'FailedScheduling', message: expected, source: { component: 'default-scheduler' } })]);

    // capacity frees up (scale another deployment? here: delete one running pod's deployment share) → the pod binds
    const d = (await objects.get('deployments', 'big', 'default'))!;
    await objects.update('deployments', { ...d, spec: { ...d.spec, replicas: 4 } });
    await advance(5_000);
    const now = await podsOf(objects, 'big');
    expect(now).toHaveLength(4);
    expect(now.every((p) => p.status?.phase === 'Running')).toBe(true);
    sim.stop();
  });

  it('keeps cordoned nodes free of new pods and moves drained pods elsewhere', async () => {
    const { objects, sim, advance } = await cluster();
    await objects.create('deployments', deployment('web', 8));
    await advance(5_000);
    // kubectl cordon worker-0 && kubectl drain worker-0 (evictions are graceful deletes)
    const node = (await objects.get('nodes', 'worker-0'))!;
    await objects.update('nodes', { ...node, spec: { ...node.spec, unschedulable: true } });
    for (const p of await objects.list('pods', { nodeName: 'worker-0' })) await objects.delete('pods', p.metadata.name!, p.metadata.namespace);
    await advance(5_000);
    const pods = await objects.list('pods', { labels: { app: 'web' } });
    expect(pods).toHaveLength(8); // the drained ones are gone, not left Terminating
    expect(pods.some((p) => p.spec.nodeName === 'worker-0')).toBe(false);
    expect(pods.every((p) => p.status?.phase === 'Running')).toBe(true);
    expect((await objects.get('nodes', 'worker-0'))?.spec?.taints).toEqual([{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
    // kubectl uncordon
    const cordoned = (await objects.get('nodes', 'worker-0'))!;
    await objects.update('nodes', { ...cordoned, spec: { ...cordoned.spec, unschedulable: false } });
    await advance(5_000);
    expect((await objects.get('nodes', 'worker-0'))?.spec?.taints).toEqual([]);
    sim.stop();
  });

  it('turns a silent node NotReady after the grace period and evicts its pods after tolerationSeconds', async () => {
    const { objects, sim, advance } = await cluster();
    await objects.create('deployments', deployment('web', 8));
    await advance(5_000);
    const victims = (await objects.list('pods', { nodeName: 'worker-1' })).map((p) => p.metadata.name);
    expect(victims.length).toBeGreaterThan(0);
    sim.stopNode('worker-1'); // the VM is terminated out of band
    await advance(30_000);
    const ready = async () => (await objects.get('nodes', 'worker-1'))?.status?.conditions?.find((c) => c.type === 'Ready');
    expect((await ready())?.status).toBe('True'); // within the 40 s grace
    await advance(20_000);
    expect(await ready()).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const taints = (await objects.get('nodes', 'worker-1'))?.spec?.taints ?? [];
    expect(taints.map((t) => `${t.key}:${t.effect}`).sort()).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    // its pods stop counting as available (MarkPodsNotReady)
    for (const name of victims) expect((await objects.get('pods', name!, 'default'))?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect((await objects.get('deployments', 'web', 'default'))?.status?.availableReplicas).toBe(8 - victims.length);
    await advance(200_000);
    for (const name of victims) expect((await objects.get('pods', name!, 'default'))?.metadata.deletionTimestamp).toBeUndefined();
    await advance(110_000); // past 300 s after the taint
    for (const name of victims) {
      const p = await objects.get('pods', name!, 'default');
      expect(p?.metadata.deletionTimestamp).toBeDefined(); // Terminating: no kubelet to finish it, as in Kubernetes
      expect(p?.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason).toBe('DeletionByTaintManager');
    }
    await advance(5_000);
    const live = await podsOf(objects, 'web');
    expect(live).toHaveLength(8);
    expect(live.every((p) => p.spec.nodeName !== 'worker-1' && p.status?.phase === 'Running')).toBe(true);
    expect(rolledOut(await objects.get('deployments', 'web', 'default'), 8)).toBe(true);

    // the VM comes back: Ready again, taints gone, the Terminating pods finished by its kubelet
    await sim.kubelet('worker-1')!.start();
    await advance(15_000);
    expect((await ready())?.status).toBe('True');
    expect((await objects.get('nodes', 'worker-1'))?.spec?.taints ?? []).toEqual([]);
    for (const name of victims) expect(await objects.get('pods', name!, 'default')).toBeUndefined();
    sim.stop();
  });

  it('gives a node back its pods when its kubelet returns before the tolerations run out', async () => {
    const { objects, sim, advance } = await cluster();
    await objects.create('deployments', deployment('web', 4));
    await advance(5_000);
    const before = (await podsOf(objects, 'web')).map((p) => p.metadata.name).sort();
    sim.stopNode('worker-3');
    await advance(60_000);
    expect((await objects.get('nodes', 'worker-3'))?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('Unknown');
    await sim.kubelet('worker-3')!.start();
    await advance(15_000);
    expect((await objects.get('nodes', 'worker-3'))?.spec?.taints ?? []).toEqual([]);
    const after = await podsOf(objects, 'web');
    expect(after.map((p) => p.metadata.name).sort()).toEqual(before);
    expect(after.every((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True')).toBe(true);
    expect((await objects.get('deployments', 'web', 'default'))?.status?.availableReplicas).toBe(4);
    sim.stop();
  });

  it('evicts a pod with its own short toleration first, and force-deletes pods of a removed node', async () => {
    const { objects, sim, advance } = await cluster();
    const pod: Pod = {
      metadata: { name: 'short', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': 'worker-2' },
        tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }],
        containers: [{ name: 'c', image: 'busybox' }],
      },
    };
    await objects.create('pods', pod);
    await objects.create('pods', { ...pod, metadata: { name: 'patient', namespace: 'default' }, spec: { ...pod.spec, tolerations: [] } });
    await advance(5_000);
    expect((await objects.get('pods', 'short', 'default'))?.status?.phase).toBe('Running');
    sim.stopNode('worker-2');
    await advance(45_000 + 15_000);
    expect((await objects.get('pods', 'short', 'default'))?.metadata.deletionTimestamp).toBeDefined();
    expect((await objects.get('pods', 'patient', 'default'))?.metadata.deletionTimestamp).toBeUndefined();
    await sim.removeNode('worker-2');
    await advance(5_000);
    expect(await objects.list('pods')).toEqual([]);
    sim.stop();
  });
});
