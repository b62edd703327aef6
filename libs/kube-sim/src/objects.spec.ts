import { FakeClock } from './clock';
import { mergePatch, InMemoryKubeObjects } from './objects';
import { describeKubeObjectsContract } from './testing/kube-objects-contract';

describeKubeObjectsContract('InMemoryKubeObjects', async () => ({ objects: new InMemoryKubeObjects(new FakeClock()) }));

describe('mergePatch (RFC 7386)', () => {
  it('merges objects, removes nulls and replaces arrays and scalars', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: null, b: { c: 5 }, e: [3], f: 'x' })).toEqual({ b: { c: 5, d: 3 }, e: [3], f: 'x' });
    expect(mergePatch(undefined, { a: { b: null } })).toEqual({ a: {} });
    expect(mergePatch({ a: 1 }, 'x')).toBe('x');
  });
});
