import { CloudId, FIREWALL_PLAN, TAG_CLUSTER, TAG_NODE, TAG_ROLE, cidrContains, fixedNetworkCidrs, isInDigitalOceanPool, resourcePrefix, ruleKeys } from '@skyweave/domain';
import { randomUUID } from 'node:crypto';
import type { CloudProvider, NetworkSpec, NetworkStatus } from '../cloud-provider';
import { CloudErrorKind, isCloudError } from '../errors';

/** A resource as the sandbox's admin API lists it. */
export interface SandboxItem { cloud: CloudId; account: string; kind: string; id: string; tags: Record<string, string> }

/** What a contract run needs: a provider on a fresh sandbox account, one on bad credentials, and sandbox controls. */
export interface ContractHarness {
  provider: CloudProvider;
  /** Same cloud and endpoint, credentials the cloud does not know. */
  badProvider: CloudProvider;
  region: string;
  zone: string;
  /** Live resources of the provider's account. */
  inventory(): Promise<SandboxItem[]>;
  /** The next `count` calls of `op` fail with `kind`, in the cloud's own error shape. */
  armFault(op: string, kind: 'throttle' | 'server-error' | 'quota' | 'capacity', count: number): Promise<void>;
  clearFaults(): Promise<void>;
  close(): Promise<void>;
}

const waitFor = async <T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const expectCloudError = async (p: Promise<unknown>, kind: CloudErrorKind): Promise<void> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!isCloudError(err, kind)) throw new Error(`expected CloudError ${kind}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
};

/**
 * The CloudProvider contract (see cloud-provider.ts), run against one adapter over the sandbox cloud through the
 * official SDK. Every adapter must pass it unchanged.
 */
export function describeCloudProviderContract(cloud: CloudId, setup: () => Promise<ContractHarness>): void {
  describe(`CloudProvider contract: ${cloud}`, () => {
    let h: ContractHarness;
    const clusterId = randomUUID();
    let spec: NetworkSpec;
    let network: NetworkStatus;

    beforeAll(async () => {
      h = await setup();
      const cidrs = cloud === 'digitalocean' ? { vpcCidr: '', subnetCidr: '' } : fixedNetworkCidrs(cloud);
      spec = { clusterId, namePrefix: resourcePrefix(clusterId), region: h.region, zone: h.zone, ...cidrs, firewall: FIREWALL_PLAN };
    });
    afterAll(async () => {
      await h?.close();
    });

    it('verifies good credentials and refuses unknown ones as InvalidCredentials', async () => {
      await h.provider.verifyCredentials();
      await expectCloudError(h.badProvider.verifyCredentials(), 'InvalidCredentials');
    });

    it('has no network before one is ensured', async () => {
      expect(await h.provider.getNetwork(clusterId, h.region)).toBeNull();
    });

    it('ensures the network with the address plan, every part tagged for the cluster', async () => {
      network = await h.provider.ensureNetwork(spec);
      expect(network.cloud).toBe(cloud);
      if (cloud === 'digitalocean') {
        expect(isInDigitalOceanPool(network.vpcCidr)).toBe(true);
      } else {
        expect(network.vpcCidr).toBe(spec.vpcCidr);
        expect(network.subnetCidr).toBe(spec.subnetCidr);
      }
      const tagged = await h.provider.listTaggedResources(clusterId, h.region);
      expect(tagged.length).toBeGreaterThanOrEqual(3);
      for (const r of tagged) expect(r.tags[TAG_CLUSTER]).toBe(clusterId);
      expect(tagged.map((r) => r.id)).toEqual(expect.arrayContaining([network.vpcId, network.securityGroupIds.master, network.securityGroupIds.worker]));
      const inv = await h.inventory();
      for (const item of inv) expect(item.tags[TAG_CLUSTER]).toBe(clusterId);
    });

    it('ensuring the same network twice creates nothing new', async () => {
      const before = (await h.inventory()).length;
      const again = await h.provider.ensureNetwork(spec);
      expect(again.vpcId).toBe(network.vpcId);
      expect(again.subnetId).toBe(network.subnetId);
      expect(again.securityGroupIds).toEqual(network.securityGroupIds);
      expect((await h.inventory()).length).toBe(before);
      const got = await h.provider.getNetwork(clusterId, h.region);
      expect(got?.vpcId).toBe(network.vpcId);
    });

    it('has exactly the seed firewall rules per role', async () => {
      const fw = await h.provider.describeFirewall(network);
      expect(ruleKeys(fw.master)).toEqual(ruleKeys(FIREWALL_PLAN.master));
      expect(ruleKeys(fw.worker)).toEqual(ruleKeys(FIREWALL_PLAN.worker));
    });

    let instanceId: string;
    const nodeId = randomUUID();
    it('launches an instance once per node id, tagged, in the subnet, and it becomes running', async () => {
      const ispec = { clusterId, nodeId, name: `${spec.namePrefix}-worker-0`, role: 'worker' as const, instanceType: defaultType(cloud), userData: '#cloud-config\n{}\n', network };
      const a = await h.provider.createInstance(ispec);
      const b = await h.provider.createInstance(ispec);
      expect(b.id).toBe(a.id);
      instanceId = a.id;
      const listed = await h.provider.listInstances(clusterId, h.region);
      expect(listed.map((i) => i.id)).toEqual([a.id]);
      const running = await waitFor(async () => {
        const i = await h.provider.getInstance(h.region, a.id);
        return i?.state === 'running' ? i : undefined;
      }, 'instance running');
      expect(running.tags[TAG_CLUSTER]).toBe(clusterId);
      expect(running.tags[TAG_NODE]).toBe(nodeId);
      expect(running.tags[TAG_ROLE]).toBe('worker');
      expect(running.privateIp && cidrContains(network.subnetCidr, running.privateIp)).toBe(true);
    });

    it('sees a foreign instance in the network and refuses to terminate it for this cluster', async () => {
      const otherCluster = randomUUID();
      const foreign = await h.provider.createInstance({
        clusterId: otherCluster, nodeId: randomUUID(), name: 'intruder', role: 'worker', instanceType: defaultType(cloud), userData: '#cloud-config\n{}\n', network,
      });
      const inNet = await h.provider.listInstancesInNetwork(network);
      expect(inNet.map((i) => i.id).sort()).toEqual([instanceId, foreign.id].sort());
      await expectCloudError(h.provider.terminateInstance(clusterId, h.region, foreign.id), 'Conflict');
      expect((await h.provider.getInstance(h.region, foreign.id))?.state).not.toBe('terminated');
      expect((await h.provider.listInstances(clusterId, h.region)).map((i) => i.id)).toEqual([instanceId]);
      await h.provider.terminateInstance(otherCluster, h.region, foreign.id);
      await waitFor(async () => (await h.provider.listInstancesInNetwork(network)).every((i) => i.id !== foreign.id), 'foreign gone');
    });

    it('returns null for an instance that does not exist', async () => {
      expect(await h.provider.getInstance(h.region, missingInstanceId(cloud))).toBeNull();
    });

    it('terminates idempotently', async () => {
      await h.provider.terminateInstance(clusterId, h.region, instanceId);
      await h.provider.terminateInstance(clusterId, h.region, instanceId);
      await waitFor(async () => (await h.provider.listInstances(clusterId, h.region)).length === 0, 'instance list empty');
    });

    it('maps throttling, quota and capacity errors from the cloud\'s own shape', async () => {
      await h.armFault('read', 'throttle', 50);
      await expectCloudError(h.provider.listInstances(clusterId, h.region), 'Throttled');
      await h.clearFaults();
      await h.armFault('instance.create', 'quota', 1);
      const base = { clusterId, name: `${spec.namePrefix}-worker-9`, role: 'worker' as const, instanceType: defaultType(cloud), userData: '#cloud-config\n{}\n', network };
      await expectCloudError(h.provider.createInstance({ ...base, nodeId: randomUUID() }), 'QuotaExceeded');
      await h.armFault('instance.create', 'capacity', 1);
      await expectCloudError(h.provider.createInstance({ ...base, nodeId: randomUUID() }), 'InsufficientCapacity');
      await h.clearFaults();
      expect(await h.provider.listInstances(clusterId, h.region)).toEqual([]);
    });

    it('deletes the network idempotently, leaving nothing', async () => {
      await h.provider.deleteNetwork(clusterId, h.region);
      await h.provider.deleteNetwork(clusterId, h.region);
      expect(await h.provider.getNetwork(clusterId, h.region)).toBeNull();
      expect(await h.provider.listTaggedResources(clusterId, h.region)).toEqual([]);
      expect(await h.inventory()).toEqual([]);
    });
  });
}

function defaultType(cloud: CloudId): string {
  return { aws: 't3.medium', gcp: 'e2-standard-2', azure: 'Standard_B2s', digitalocean: 's-2vcpu-4gb' }[cloud];
}

function missingInstanceId(cloud: CloudId): string {
  return { aws: 'i-0123456789abcdef0', gcp: 'sw-missing-0', azure: 'sw-missing-0', digitalocean: '999999999' }[cloud];
}
