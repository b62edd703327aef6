import { LatencyMember, MeshMember, allocateWireguardAddresses, assessCrossCloudLatency, meshPeers, wireguardMtu } from './index';

const member = (name: string, cloud: MeshMember['cloud'], n: number, over: Partial<MeshMember> = {}): MeshMember => ({
  id: name, name, cloud, role: name.startsWith('m') ? 'master' : 'worker', wireguardAddress: `10.4.0.${n}`,
  wireguardPublicKey: `${name}-key`, privateIp: `10.${n}.0.5`, publicIp: `203.0.113.${n}`, podCidr: null, ...over,
});

describe('WireGuard address plan (seed 004: 10.4.0.0/16)', () => {
  it('hands out the lowest free addresses, skipping the network address and reusing freed ones', () => {
    expect(allocateWireguardAddresses([], 3)).toEqual(['10.4.0.1', '10.4.0.2', '10.4.0.3']);
    expect(allocateWireguardAddresses(['10.4.0.1', '10.4.0.3'], 2)).toEqual(['10.4.0.2', '10.4.0.4']);
    expect(allocateWireguardAddresses([], 300).at(-1)).toBe('10.4.1.44');
  });
  it('refuses when the /16 is full, never handing out the broadcast address', () => {
    const all = allocateWireguardAddresses([], 65534);
    expect(all.at(-1)).toBe('10.4.255.254');
    expect(() => allocateWireguardAddresses(all, 1)).toThrow(/no free WireGuard address/);
  });
  it('sets the MTU so WireGuard inside the smallest cloud MTU does not fragment', () => {
    expect(wireguardMtu(['aws', 'azure'])).toBe(1420);
    expect(wireguardMtu(['aws', 'gcp', 'digitalocean'])).toBe(1380);
  });
});

describe('peer lists', () => {
  const m0 = member('m0', 'aws', 1);
  const w1 = member('w1', 'aws', 2);
  const w2 = member('w2', 'gcp', 3, { podCidr: '10.217.3.0/24' });
  const w3 = member('w3', 'azure', 4);
  const w4 = member('w4', 'azure', 5);

  it('full mesh: everyone but self; same-cloud peers on private IPs, others on public IPs, port 51820', () => {
    const peers = meshPeers(m0, [m0, w1, w2, w3]);
    expect(peers.map((p) => [p.nodeName, p.endpoint, p.allowedIps])).toEqual([
      ['w1', '10.2.0.5:51820', ['10.4.0.2/32']],
      ['w2', '203.0.113.3:51820', ['10.4.0.3/32', '10.217.3.0/24']],
      ['w3', '203.0.113.4:51820', ['10.4.0.4/32']],
    ]);
    expect(peers.every((p) => p.persistentKeepaliveSeconds === 25)).toBe(true);
  });

  it('leaves out members that have not registered a key or have no address yet', () => {
    const peers = meshPeers(m0, [m0, { ...w1, wireguardPublicKey: null }, { ...w2, publicIp: null, privateIp: null }, w3]);
    expect(peers.map((p) => p.nodeName)).toEqual(['w3']);
  });

  it('cross-location: leaders carry their location; members reach other locations through their leader', () => {
    const all = [m0, w1, w2, w3, w4];
    // aws leader m0 (master), gcp leader w2, azure leader w3 (first by name)
    expect(meshPeers(m0, all, 'cross-location').map((p) => [p.nodeName, p.allowedIps])).toEqual([
      ['w1', ['10.4.0.2/32']],
      ['w2', ['10.4.0.3/32', '10.217.3.0/24']],
      ['w3', ['10.4.0.4/32', '10.4.0.5/32']],
    ]);
    expect(meshPeers(w4, all, 'cross-location').map((p) => [p.nodeName, p.allowedIps])).toEqual([
      ['w3', ['10.4.0.4/32', '10.4.0.1/32', '10.4.0.2/32', '10.4.0.3/32', '10.217.3.0/24']],
    ]);
    // tunnels: 10 in a full mesh of 5; here 2 inside locations (m0–w1, w3–w4) and 3 between the leaders
    const tunnels = all.reduce((sum, m) => sum + meshPeers(m, all, 'cross-location').length, 0) / 2;
    expect(tunnels).toBe(5);
  });
});

describe('cross-cloud latency verdict (seeds 000–002: 10 ms)', () => {
  const now = new Date('2026-11-21T12:00:00Z');
  const at = now.toISOString();
  const node = (id: string, cloud: LatencyMember['cloud'], peerLatencies: LatencyMember['peerLatencies'] = {}): LatencyMember => ({ id, name: id, cloud, peerLatencies });

  it('is Unknown before anything is measured, ignoring same-cloud pairs', () => {
    expect(assessCrossCloudLatency([node('a', 'aws', { b: { rttMs: 50, at } }), node('b', 'aws')], 10, now).status).toBe('Unknown');
  });
  it('names the worst cross-cloud pair, taking the slower direction', () => {
    const v = assessCrossCloudLatency([
      node('a', 'aws', { b: { rttMs: 4, at }, c: { rttMs: 6, at } }),
      node('b', 'gcp', { a: { rttMs: 5, at } }),
      node('c', 'azure', { a: { rttMs: 12.5, at }, b: { rttMs: null, at } }),
    ], 10, now);
    expect(v).toMatchObject({ status: 'False', reason: 'OverBudget', worst: { a: 'a', b: 'c', rttMs: 12.5 } });
    expect(v.message).toMatch(/a \(aws\) ↔ c \(azure\) 12\.5 ms.*1 pair\(s\) not answering/);
  });
  it('is within budget when every measured pair is, and forgets stale samples', () => {
    const old = new Date(now.getTime() - 10 * 60_000).toISOString();
    const v = assessCrossCloudLatency([node('a', 'aws', { b: { rttMs: 6, at }, c: { rttMs: 40, at: old } }), node('b', 'gcp'), node('c', 'azure')], 10, now);
    expect(v).toMatchObject({ status: 'True', reason: 'WithinBudget', worst: { rttMs: 6 } });
  });
});
