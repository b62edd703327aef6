import { describeKubeObjectsContract } from '@skyweave/kube-sim/src/testing/kube-objects-contract';
import { ObjectApi } from './objects';
import { BUILTIN_TYPES, ResourceRegistry } from './resources';
import { MemoryKubeStore } from './store';
import { ApiKubeObjects } from './sim-objects';

// kube-sim's controllers and kubelets run on the API server's own object layer: it must keep kube-sim's contract.
describeKubeObjectsContract('ApiKubeObjects (the sandbox API server)', async () => {
  const store = new MemoryKubeStore();
  const api = new ObjectApi(store, new ResourceRegistry());
  await api.seed();
  return { objects: new ApiKubeObjects(api, store) };
});

describe('Secrets through the object layer', () => {
  it('folds stringData into data on create and update, its values winning, and never stores it', async () => {
    const store = new MemoryKubeStore();
    const api = new ObjectApi(store, new ResourceRegistry());
    await api.seed();
    const secrets = BUILTIN_TYPES.find((t) => t.resource === 'secrets' && !t.group)!;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const created = await api.create(secrets, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque', data: { a: b64('1'), b: b64('2') }, stringData: { b: 'two', c: 'three' } });
    expect(created['data']).toEqual({ a: b64('1'), b: b64('two'), c: b64('three') });
    expect(created).not.toHaveProperty('stringData');
    const updated = await api.update(secrets, 'default', 's', { ...created, stringData: { a: 'one' } }, undefined);
    expect(updated['data']).toEqual({ a: b64('one'), b: b64('two'), c: b64('three') });
    expect(updated).not.toHaveProperty('stringData');
  });
});
