import { describeKubeObjectsContract } from '@skyweave/kube-sim/src/testing/kube-objects-contract';
import { ObjectApi } from './objects';
import { ResourceRegistry } from './resources';
import { MemoryKubeStore } from './store';
import { ApiKubeObjects } from './sim-objects';

// kube-sim's controllers and kubelets run on the API server's own object layer: it must keep kube-sim's contract.
describeKubeObjectsContract('ApiKubeObjects (the sandbox API server)', async () => {
  const store = new MemoryKubeStore();
  const api = new ObjectApi(store, new ResourceRegistry());
  await api.seed();
  return { objects: new ApiKubeObjects(api, store) };
});
