import { FakeClock } from './clock';
import { DeploymentController, scaledValue, templateHash } from './deployment';
import { InMemoryKubeObjects } from './objects';
import { ReplicaSetController } from './replicaset';
import { Deployment, PodTemplateSpec } from './types';

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });

const deployment = (replicas: number, extra: Partial<Deployment['spec']> = {}): Deployment => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template('nginx:1'), ...extra },
});

/** The two controllers, with pods made Ready at once (what kubelets would do) — no scheduler needed here. */
async function harness() {
  const clock = new FakeClock();
  const objects = new InMemoryKubeObjects(clock);
  const deployments = new DeploymentController(objects, clock);
  const replicaSets = new ReplicaSetController(objects, clock);
  const readyAll = async () => {
    for (const p of await objects.list('pods')) {
      if (p.status?.phase === 'Running' || p.metadata.deletionTimestamp) continue;
      await objects.updateStatus('pods', { ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    }
  };
  /** Runs the controllers until nothing changes (or `rounds` passes), pods becoming Ready between passes. */
  const converge = async (rounds = 20, ready = true) => {
    for (let i = 0; i < rounds; i++) {
      await deployments.syncAll();
      await replicaSets.syncAll();
      if (ready) await readyAll();
    }
  };
  return { clock, objects, converge };
}

describe('templateHash and scaledValue', () => {
  it('hashes equal templates alike and different ones apart, in the safe alphabet', () => {
    expect(templateHash(template('nginx:1'))).toBe(templateHash(template('nginx:1')));
    expect(templateHash(template('nginx:1'))).not.toBe(templateHash(template('nginx:2')));
    expect(templateHash(template('nginx:1'))).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
  });

  it('scales percentages (maxSurge rounds up, maxUnavailable down)', () => {
    expect(scaledValue('25%', 10, true)).toBe(3);
    expect(scaledValue('25%', 10, false)).toBe(2);
    expect(scaledValue(1, 10, false)).toBe(1);
    expect(scaledValue('0%', 3, true)).toBe(0);
  });
});

describe('DeploymentController', () => {
  it('creates one ReplicaSet per template and reports a finished rollout', async () => {
    const { objects, converge } = await harness();
    await objects.create('deployments', deployment(3));
    await converge();
    const [rs] = await objects.list('replicasets');
    expect(rs.metadata.name).toBe(`web-${templateHash(template('nginx:1'))}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': templateHash(template('nginx:1')) });
    expect(rs.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const d = await objects.get('deployments', 'web', 'default');
    expect(d?.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0 });
    expect(rs.status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, fullyLabeledReplicas: 3, observedGeneration: 1 });
  });

  it('rolls with maxSurge 1 / maxUnavailable 0 without ever going below the desired count of available pods', async () => {
    const { objects, converge } = await harness();
    const d0 = await objects.create('deployments', deployment(4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    await converge();
    const d1 = (await objects.get('deployments', 'web', 'default'))!;
    await objects.update('deployments', { ...d1, spec: { ...d0.spec, template: template('nginx:2') } });
    const totals: number[] = [];
    const available: number[] = [];
    for (let i = 0; i < 20; i++) {
      await converge(1);
      const pods = (await objects.list('pods')).filter((p) => !p.metadata.deletionTimestamp);
      totals.push(pods.length);
      available.push(pods.filter((p) => p.status?.phase === 'Running').length);
    }
    expect(Math.max(...totals)).toBeLessThanOrEqual(5);
    expect(Math.min(...available)).toBeGreaterThanOrEqual(4);
    const pods = await objects.list('pods');
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(['nginx:2', 'nginx:2', 'nginx:2', 'nginx:2']);
    const d = await objects.get('deployments', 'web', 'default');
    expect(d?.status).toMatchObject({ observedGeneration: 2, replicas: 4, updatedReplicas: 4, availableReplicas: 4 });
    expect(d?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
  });

  it('goes back to an earlier template (kubectl rollout undo) by reusing its ReplicaSet as the newest revision', async () => {
    const { objects, converge } = await harness();
    await objects.create('deployments', deployment(2));
    await converge();
    let d = (await objects.get('deployments', 'web', 'default'))!;
    await objects.update('deployments', { ...d, spec: { ...d.spec, template: template('nginx:2') } });
    await converge();
    d = (await objects.get('deployments', 'web', 'default'))!;
    await objects.update('deployments', { ...d, spec: { ...d.spec, template: template('nginx:1') } });
    await converge();
    const sets = await objects.list('replicasets');
    expect(sets).toHaveLength(2);
    const v1 = sets.find((rs) => rs.spec.template.spec.containers[0].image === 'nginx:1')!;
    expect(v1.spec.replicas).toBe(2);
    expect(v1.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect((await objects.get('deployments', 'web', 'default'))?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect((await objects.list('pods')).map((p) => p.spec.containers[0].image)).toEqual(['nginx:1', 'nginx:1']);
  });

  it('Recreate scales the old ReplicaSet to zero before the new one comes up', async () => {
    const { objects, converge } = await harness();
    await objects.create('deployments', deployment(2, { strategy: { type: 'Recreate' } }));
    await converge();
    const d = (await objects.get('deployments', 'web', 'default'))!;
    await objects.update('deployments', { ...d, spec: { ...d.spec, template: template('nginx:2') } });
    const mixed: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      await converge(1);
      const images = new Set((await objects.list('pods')).map((p) => p.spec.containers[0].image));
      mixed.push(images.size > 1);
    }
    expect(mixed.some((m) => m)).toBe(false);
    expect((await objects.list('pods')).map((p) => p.spec.containers[0].image)).toEqual(['nginx:2', 'nginx:2']);
  });

  it('keeps revisionHistoryLimit old ReplicaSets and deletes ReplicaSets and pods of a deleted Deployment', async () => {
    const { objects, converge } = await harness();
    await objects.create('deployments', deployment(1, { revisionHistoryLimit: 1 }));
    for (const image of ['nginx:2', 'nginx:3', 'nginx:4']) {
      await converge();
      const d = (await objects.get('deployments', 'web', 'default'))!;
      await objects.update('deployments', { ...d, spec: { ...d.spec, template: template(image) } });
    }
    await converge();
    const sets = await objects.list('replicasets');
    expect(sets.map((rs) => rs.spec.template.spec.containers[0].image).sort()).toEqual(['nginx:3', 'nginx:4']);
    expect((await objects.get('deployments', 'web', 'default'))?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    await objects.delete('deployments', 'web', 'default');
    await converge(3, false);
    expect(await objects.list('replicasets')).toEqual([]);
    expect(await objects.list('pods')).toEqual([]);
  });
});
