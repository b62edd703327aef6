import { isAlreadyExists, isConflict, isNotFound, KubeObjects, WatchEvent } from '../objects';
import { Pod } from '../types';

/** Awaits `work` and asserts it rejected with an error `check` accepts (isConflict, isNotFound …). */
async function rejectsWith(work: Promise<unknown>, check: (err: unknown) => boolean): Promise<void> {
  const outcome = await work.then(
    () => ({ rejected: false, err: undefined as unknown }),
    (err: unknown) => ({ rejected: true, err }),
  );
  expect(outcome.rejected).toBe(true);
  expect([check(outcome.err), outcome.err]).toEqual([true, outcome.err]);
}

/** What a contract run needs: a fresh, empty store per test. */
export interface KubeObjectsHarness {
  objects: KubeObjects;
  close?(): Promise<void>;
}

const pod = (name: string, nodeName?: string): Pod => ({
  metadata: { name, namespace: 'default', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...(nodeName ? { nodeName } : {}), terminationGracePeriodSeconds: 30 },
});

/**
 * The behaviour kube-sim relies on from a KubeObjects implementation (the sandbox API server's store must pass it):
 * Kubernetes' optimistic concurrency, status subresource split, generation, generateName and graceful pod deletion
 * (API conventions "Concurrency Control and Consistency", "Spec and Status"; registry/core/pod/strategy.go).
 */
export function describeKubeObjectsContract(name: string, make: () => Promise<KubeObjectsHarness>): void {
  describe(`KubeObjects contract: ${name}`, () => {
    let h: KubeObjectsHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close?.();
    });

    it('create fills server fields, generateName, and refuses a taken name with AlreadyExists', async () => {
      const created = await h.objects.create('pods', { ...pod(''), metadata: { generateName: 'web-', labels: { app: 'web' } } });
      expect(created.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(created.metadata).toMatchObject({ namespace: 'default', generation: 1 });
      expect(created.metadata.uid).toBeTruthy();
      expect(created.metadata.resourceVersion).toBeTruthy();
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(created).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
      await rejectsWith(h.objects.create('pods', { ...pod(created.metadata.name!) }), isAlreadyExists);
      expect((await h.objects.get('pods', created.metadata.name!, 'default'))?.metadata.uid).toBe(created.metadata.uid);
      expect(await h.objects.get('pods', 'missing', 'default')).toBeUndefined();
    });

    it('lists by namespace, labels and spec.nodeName', async () => {
      await h.objects.create('pods', pod('a', 'n1'));
      // kube-system: a namespace every cluster has (an API server refuses objects in a namespace that does not exist)
      await h.objects.create('pods', { ...pod('b', 'n2'), metadata: { name: 'b', namespace: 'kube-system', labels: { app: 'db' } } });
      expect((await h.objects.list('pods')).map((p) => p.metadata.name).sort()).toEqual(['a', 'b']);
      expect((await h.objects.list('pods', { namespace: 'kube-system' })).map((p) => p.metadata.name)).toEqual(['b']);
      expect((await h.objects.list('pods', { labels: { app: 'web' } })).map((p) => p.metadata.name)).toEqual(['a']);
      expect((await h.objects.list('pods', { nodeName: 'n2' })).map((p) => p.metadata.name)).toEqual(['b']);
    });

    it('update with a stale resourceVersion is a Conflict; a fresh one bumps resourceVersion, and generation on spec changes only', async () => {
      const created = await h.objects.create('deployments', {
        metadata: { name: 'web', namespace: 'default' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } } },
      });
      const scaled = await h.objects.update('deployments', { ...created, spec: { ...created.spec, replicas: 3 } });
      expect(scaled.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
      expect(scaled.metadata.generation).toBe(2);
      await rejectsWith(h.objects.update('deployments', { ...created, spec: { ...created.spec, replicas: 5 } }), isConflict);
      const labelled = await h.objects.update('deployments', { ...scaled, metadata: { ...scaled.metadata, labels: { x: 'y' } } });
      expect(labelled.metadata.generation).toBe(2);
      await rejectsWith(h.objects.updateStatus('deployments', { ...scaled, status: { replicas: 1 } }), isConflict);
      await rejectsWith(h.objects.update('deployments', { ...created, metadata: { ...created.metadata, name: 'missing' } }), isNotFound);
    });

    it('keeps spec and status apart (the /status subresource)', async () => {
      const created = await h.objects.create('pods', pod('a'));
      const withStatus = await h.objects.updateStatus('pods', { ...created, spec: { ...created.spec, nodeName: 'sneaky' }, status: { phase: 'Running' } });
      expect(withStatus.spec.nodeName).toBeUndefined();
      expect(withStatus.status?.phase).toBe('Running');
      const bound = await h.objects.update('pods', { ...withStatus, spec: { ...withStatus.spec, nodeName: 'n1' }, status: { phase: 'Failed' } });
      expect(bound.spec.nodeName).toBe('n1');
      expect(bound.status?.phase).toBe('Running');
      const patched = await h.objects.patchStatus('pods', 'a', 'default', { podIP: '10.244.1.2', phase: null });
      expect(patched.status).toEqual({ podIP: '10.244.1.2' });
    });

    it('deletes at once, except a pod bound to a node with grace: that one only gets deletionTimestamp', async () => {
      await h.objects.create('pods', pod('unbound'));
      await h.objects.delete('pods', 'unbound', 'default');
      expect(await h.objects.get('pods', 'unbound', 'default')).toBeUndefined();
      await rejectsWith(h.objects.delete('pods', 'unbound', 'default'), isNotFound);

      const bound = await h.objects.create('pods', pod('bound', 'n1'));
      await rejectsWith(h.objects.delete('pods', 'bound', 'default', { preconditions: { uid: 'other' } }), isConflict);
      await h.objects.delete('pods', 'bound', 'default');
      const terminating = await h.objects.get('pods', 'bound', 'default');
      expect(terminating?.metadata.deletionTimestamp).toBeDefined();
      expect(terminating?.metadata.deletionGracePeriodSeconds).toBe(30);
      await h.objects.delete('pods', 'bound', 'default', { gracePeriodSeconds: 0, preconditions: { uid: bound.metadata.uid } });
      expect(await h.objects.get('pods', 'bound', 'default')).toBeUndefined();

      await h.objects.create('nodes', { metadata: { name: 'n1' } });
      await h.objects.delete('nodes', 'n1');
      expect(await h.objects.list('nodes')).toEqual([]);
    });

    it('watch delivers ADDED, MODIFIED and DELETED in order until stopped', async () => {
      const seen: string[] = [];
      // an API server defaults a new pod's phase to Pending; a bare store may leave it unset
      const stop = h.objects.watch('pods', (e: WatchEvent<Pod>) => seen.push(`${e.type} ${e.object.metadata.name} ${e.object.status?.phase ?? 'Pending'}`));
      const created = await h.objects.create('pods', pod('a'));
      await h.objects.updateStatus('pods', { ...created, status: { phase: 'Running' } });
      await h.objects.delete('pods', 'a', 'default');
      for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setImmediate(r));
      stop();
      await h.objects.create('pods', pod('b'));
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['ADDED a Pending', 'MODIFIED a Running', 'DELETED a Running']);
    });
  });
}
