import { CloudId, FIREWALL_PLAN, TAG_CLUSTER, TAG_NODE, TAG_ROLE, cidrContains, fixedNetworkCidrs, isInDigitalOceanPool, resourcePrefix, ruleKeys } from '@skyweave/domain';
import { randomUUID } from 'node:crypto';
import type { CloudCredentials, CloudEndpoints, CloudProvider, NetworkSpec, NetworkStatus } from '../cloud-provider';
import { CloudErrorKind, isCloudError } from '../errors';
import { OutOfBand, outOfBand } from './out-of-band';

/** A resource as the sandbox's admin API lists it. */
export interface SandboxItem { cloud: CloudId; account: string; kind: string; id: string; tags: Record<string, string> }

/** What a contract run needs: a provider on a fresh sandbox account, one on bad credentials, and sandbox controls. */
export interface ContractHarness {
  provider: CloudProvider;
  /** Same cloud and endpoint, credentials the cloud does not know. */
  badProvider: CloudProvider;
  /** The provider's credentials and endpoints, for out-of-band changes made beside it (see out-of-band.ts). */
  credentials: CloudCredentials;
  endpoints: CloudEndpoints;
  region: string;
  zone: string;
  /** Live resources of the provider's account. */
  inventory(): Promise<SandboxItem[]>;
  /** The next `count` calls of `op` fail with `kind`, in the cloud's own error shape. */
  armFault(op: string, kind: 'throttle' | 'server-error' | 'quota' | 'capacity', count: number): Promise<void>;
  clearFaults(): Promise<void>;
  /**
   * Eventual consistency of the provider's cloud: for `delayMs` after a resource is made, reads do not see it (by id
   * ⇒ the cloud's not-found, lists leave it out); 0 turns it off. Absent ⇒ the consistency test is skipped.
   */
  setConsistencyDelay?(delayMs: number): Promise<void>;
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
    let oob: OutOfBand;
    const clusterId = randomUUID();
    let spec: NetworkSpec;
    let network: NetworkStatus;

    beforeAll(async () => {
      h = await setup();
      oob = outOfBand(h.credentials, h.endpoints);
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
      const inspection = await h.provider.inspectNetwork(spec);
      expect(inspection.status).toBeNull();
      expect(inspection.drift.length).toBeGreaterThan(0);
    });

    it('says whether instance creates carry an idempotency token', () => {
      expect(h.provider.idempotentCreate).toBe(cloud !== 'digitalocean');
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

    it('inspects the ensured network as matching the plan', async () => {
      const { status, drift } = await h.provider.inspectNetwork(spec);
      expect(drift).toEqual([]);
      expect(status?.vpcId).toBe(network.vpcId);
      expect(status?.subnetId).toBe(network.subnetId);
      expect(status?.securityGroupIds).toEqual(network.securityGroupIds);
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

    /** ensureNetwork repairs: afterwards no drift, and the rules per role are the plan's. */
    const expectRepaired = async () => {
      network = await h.provider.ensureNetwork(spec);
      expect((await h.provider.inspectNetwork(spec)).drift).toEqual([]);
      const fw = await h.provider.describeFirewall(network);
      expect(ruleKeys(fw.master)).toEqual(ruleKeys(FIREWALL_PLAN.master));
      expect(ruleKeys(fw.worker)).toEqual(ruleKeys(FIREWALL_PLAN.worker));
      expect(await h.provider.getNetwork(clusterId, h.region)).toEqual(network);
    };

    it('reports a firewall rule deleted out of band as missing, and ensureNetwork puts it back', async () => {
      const removed = await oob.deleteFirewallRule(network, 'master');
      const { status, drift } = await h.provider.inspectNetwork(spec);
      expect(status?.vpcId).toBe(network.vpcId);
      expect(drift).toEqual([expect.stringMatching(new RegExp(`master\\S*: rule ${escapeRe(removed)} is missing$`))]);
      await expectRepaired();
    });

    it('reports a firewall rule changed out of band as one missing and one extra rule, and ensureNetwork restores it', async () => {
      const [before, after] = (await oob.changeFirewallRule(network, 'worker')).split(' → ');
      const { drift } = await h.provider.inspectNetwork(spec);
      expect(drift).toEqual([
        expect.stringMatching(new RegExp(`worker\\S*: rule ${escapeRe(before)} is missing$`)),
        expect.stringMatching(new RegExp(`worker\\S*: rule ${escapeRe(after)} is not in the plan$`)),
      ]);
      await expectRepaired();
    });

    it('reports a subnet deleted out of band as missing, and ensureNetwork makes it again', async () => {
      if (cloud === 'digitalocean') {
        await expect(oob.deleteSubnet(network)).rejects.toThrow(/no subnet/);
        return;
      }
      await oob.deleteSubnet(network);
      const { status, drift } = await h.provider.inspectNetwork(spec);
      expect(status?.vpcId).toBe(network.vpcId);
      expect(status?.subnetId).toBe('');
      expect(drift).toEqual([expect.stringMatching(new RegExp(`^subnet\\S* \\S+ \\(${escapeRe(spec.subnetCidr)}\\) is missing$`))]);
      await expectRepaired();
      expect(network.subnetCidr).toBe(spec.subnetCidr);
    });

    it('lists the tagged resources of every cluster in the region, with their cluster ids, instances included', async () => {
      const other = randomUUID();
      const otherSpec = { ...spec, clusterId: other, namePrefix: resourcePrefix(other) };
      const otherNet = await h.provider.ensureNetwork(otherSpec);
      const vm = await h.provider.createInstance({
        clusterId: other, nodeId: randomUUID(), name: `${otherSpec.namePrefix}-worker-0`, role: 'worker', instanceType: defaultType(cloud), userData: '#cloud-config\n{}\n', network: otherNet,
      });
      try {
        const all = await h.provider.listAllTaggedResources(h.region);
        const of = (c: string) => all.filter((r) => r.tags[TAG_CLUSTER] === c).map((r) => r.id);
        for (const r of all) expect([clusterId, other]).toContain(r.tags[TAG_CLUSTER]);
        expect(of(clusterId)).toEqual(expect.arrayContaining([network.vpcId, network.securityGroupIds.master, network.securityGroupIds.worker]));
        expect(of(other)).toEqual(expect.arrayContaining([otherNet.vpcId, otherNet.securityGroupIds.master, otherNet.securityGroupIds.worker, vm.id]));
        expect(of(clusterId).sort()).toEqual((await h.provider.listTaggedResources(clusterId, h.region)).map((r) => r.id).sort());
      } finally {
        await h.provider.terminateInstance(other, h.region, vm.id);
        await waitFor(async () => (await h.provider.listInstances(other, h.region)).length === 0, 'other cluster\'s instance gone');
        await h.provider.deleteNetwork(other, h.region);
      }
      expect((await h.provider.listAllTaggedResources(h.region)).filter((r) => r.tags[TAG_CLUSTER] !== clusterId)).toEqual([]);
    });

    it('reports the whole network deleted out of band as gone, and ensureNetwork builds it again', async () => {
      await oob.deleteNetwork(network);
      const gone = await h.provider.inspectNetwork(spec);
      expect(gone.status).toBeNull();
      expect(gone.drift.length).toBeGreaterThan(0);
      expect(await h.provider.getNetwork(clusterId, h.region)).toBeNull();
      await expectRepaired();
    });

    it('rides out eventual consistency: a network and an instance made while reads lag behind', async () => {
      if (!h.setConsistencyDelay) return;
      const other = randomUUID();
      const otherSpec = { ...spec, clusterId: other, namePrefix: resourcePrefix(other) };
      await h.setConsistencyDelay(CONSISTENCY_DELAY_MS);
      try {
        const otherNet = await h.provider.ensureNetwork(otherSpec);
        const ispec = { clusterId: other, nodeId: randomUUID(), name: `${otherSpec.namePrefix}-worker-0`, role: 'worker' as const, instanceType: defaultType(cloud), userData: '#cloud-config\n{}\n', network: otherNet };
        const a = await h.provider.createInstance(ispec);
        // Read back by id at once: the provider waits for what it just made instead of answering "gone".
        expect((await h.provider.getInstance(h.region, a.id))?.id).toBe(a.id);
        if (h.provider.idempotentCreate) {
          // The look-ups by tag miss what was just made; the cloud's token (or name) must still prevent a second one.
          expect((await h.provider.ensureNetwork(otherSpec)).vpcId).toBe(otherNet.vpcId);
          expect((await h.provider.createInstance(ispec)).id).toBe(a.id);
        }
        await h.setConsistencyDelay(0);
        const inspection = await h.provider.inspectNetwork(otherSpec);
        expect(inspection.drift).toEqual([]);
        if (h.provider.idempotentCreate) expect(await h.provider.listInstances(other, h.region)).toHaveLength(1);
      } finally {
        await h.setConsistencyDelay(0);
        for (const i of await h.provider.listInstances(other, h.region)) await h.provider.terminateInstance(other, h.region, i.id);
        await waitFor(async () => (await h.provider.listInstances(other, h.region)).length === 0, 'other cluster\'s instances gone');
        await h.provider.deleteNetwork(other, h.region);
      }
      expect(await h.provider.listTaggedResources(other, h.region)).toEqual([]);
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

/** How long reads lag behind creates in the eventual consistency test, in milliseconds. */
const CONSISTENCY_DELAY_MS = 700;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function defaultType(cloud: CloudId): string {
  return { aws: 't3.medium', gcp: 'e2-standard-2', azure: 'Standard_B2s', digitalocean: 's-2vcpu-4gb' }[cloud];
}

function missingInstanceId(cloud: CloudId): string {
  return { aws: 'i-0123456789abcdef0', gcp: 'sw-missing-0', azure: 'sw-missing-0', digitalocean: '999999999' }[cloud];
}
