import {
  ADDRESS_PLAN, FIREWALL_PLAN, REGIONS, allocateDigitalOceanVpcRange, backoffSeconds, cidrContains, comparePatchUpgrade, decideJoin, findRegion, fixedNetworkCidrs,
  isInDigitalOceanPool, resourcePrefix, ruleKeys, setCondition, worstCrossCloudLatency, cloudPair, CloudId,
} from './index';

describe('address plan (seed 004, "Subnets")', () => {
  it('gives each fixed-plan cloud its /16 and a /24 inside it', () => {
    expect(fixedNetworkCidrs('aws')).toEqual({ vpcCidr: '10.10.0.0/16', subnetCidr: '10.10.0.0/24' });
    expect(fixedNetworkCidrs('gcp')).toEqual({ vpcCidr: '10.0.0.0/16', subnetCidr: '10.0.0.0/24' });
    expect(fixedNetworkCidrs('azure')).toEqual({ vpcCidr: '10.20.0.0/16', subnetCidr: '10.20.0.0/24' });
    expect(ADDRESS_PLAN).toMatchObject({ serviceSubnet: '10.96.0.0/12', podSubnet: '10.217.0.0/16', wireguard: '10.4.0.0/16' });
  });

  it('allocates DigitalOcean /20s from 10.100.0.0 without overlapping existing ranges', () => {
    expect(allocateDigitalOceanVpcRange([])).toBe('10.100.0.0/20');
    expect(allocateDigitalOceanVpcRange(['10.100.0.0/20', '10.100.16.0/20'])).toBe('10.100.32.0/20');
    // an unrelated /16 covering the start pushes past it
    expect(allocateDigitalOceanVpcRange(['10.100.0.0/16'])).toBe('10.101.0.0/20');
    // a small range inside a candidate also blocks it
    expect(allocateDigitalOceanVpcRange(['10.100.3.0/24'])).toBe('10.100.16.0/20');
    expect(isInDigitalOceanPool('10.255.0.0/20')).toBe(true);
    expect(isInDigitalOceanPool('10.99.0.0/20')).toBe(false);
    expect(isInDigitalOceanPool('10.100.0.0/24')).toBe(false);
  });

  it('fails clearly when the pool is exhausted', () => {
    const all: string[] = [];
    for (let a = 100; a <= 255; a++) all.push(`10.${a}.0.0/16`);
    expect(() => allocateDigitalOceanVpcRange(all)).toThrow(/no free \/20/);
  });

  it('tests membership', () => {
    expect(cidrContains('10.10.0.0/24', '10.10.0.7')).toBe(true);
    expect(cidrContains('10.10.0.0/24', '10.10.1.7')).toBe(false);
  });
});

describe('firewall plan (seed 004, inbound tables)', () => {
  it('opens exactly 6443/tcp and 51820/udp on masters, 51820/udp and the NodePort range on workers, from anywhere', () => {
    expect(ruleKeys(FIREWALL_PLAN.master)).toEqual(['tcp:6443-6443:0.0.0.0/0', 'udp:51820-51820:0.0.0.0/0']);
    expect(ruleKeys(FIREWALL_PLAN.worker)).toEqual(['tcp:30000-32767:0.0.0.0/0', 'udp:30000-32767:0.0.0.0/0', 'udp:51820-51820:0.0.0.0/0']);
  });
});

describe('regions (seed 004, "Region & zone")', () => {
  it('maps us-east to the four clouds as the seed says', () => {
    const r = findRegion('us-east');
    expect(r?.name).toBe('US East (Ashburn)');
    expect(Object.fromEntries(Object.entries(r?.clouds ?? {}).map(([c, v]) => [c, v.region]))).toEqual({ aws: 'us-east-1', gcp: 'us-east4', azure: 'eastus', digitalocean: 'nyc1' });
  });
  it('has a latency figure for every pair of clouds a region serves', () => {
    for (const r of REGIONS) expect(() => worstCrossCloudLatency(r, Object.keys(r.clouds) as CloudId[])).not.toThrow();
  });
  it('finds the worst pair among the chosen clouds only', () => {
    const central = findRegion('us-central');
    expect(central && worstCrossCloudLatency(central, ['gcp', 'azure'])).toEqual({ pair: 'gcp|azure', ms: 2 });
    expect(central && worstCrossCloudLatency(central, ['azure', 'aws', 'gcp'])).toEqual({ pair: 'aws|azure', ms: 12 });
    expect(central && worstCrossCloudLatency(central, ['gcp'])).toBeUndefined();
    expect(cloudPair('digitalocean', 'aws')).toBe('aws|digitalocean');
  });
});

describe('names', () => {
  it('derives a cloud-safe prefix from the cluster UUID', () => {
    expect(resourcePrefix('1A2B3C4D-0000-4000-8000-000000000000')).toBe('sw-1a2b3c4d');
  });
});

describe('conditions', () => {
  it('keeps lastTransitionTime while the status is unchanged', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:05:00Z');
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t1);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t2);
    expect(b[0]).toMatchObject({ reason: 'B', lastTransitionTime: t1.toISOString() });
    const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, t2);
    expect(c[0].lastTransitionTime).toBe(t2.toISOString());
  });
});

describe('join ordering', () => {
  const m0 = { id: 'm0', role: 'master' as const, ordinal: 0, phase: 'Registered' as const };
  const m1 = { id: 'm1', role: 'master' as const, ordinal: 1, phase: 'Registered' as const };
  const w0 = { id: 'w0', role: 'worker' as const, ordinal: 0, phase: 'Registered' as const };
  it('lets the first master initialise and makes the others wait until it has joined', () => {
    expect(decideJoin(m0, [m0, m1, w0])).toBe('initialise');
    expect(decideJoin(m1, [m0, m1, w0])).toBe('wait');
    expect(decideJoin(w0, [m0, m1, w0])).toBe('wait');
    const up = { ...m0, phase: 'Joined' as const };
    expect(decideJoin(m1, [up, m1, w0])).toBe('join');
    expect(decideJoin(w0, [up, m1, w0])).toBe('join');
  });

  it('lets a replaced first master join the surviving control plane, and initialise only when it is alone', () => {
    const m1up = { ...m1, phase: 'Joined' as const };
    const w0up = { ...w0, phase: 'Joined' as const };
    expect(decideJoin(m0, [m0, m1up, w0up])).toBe('join');
    expect(decideJoin(m0, [m0, w0up])).toBe('initialise');
    expect(decideJoin(w0, [m0, m1up, w0])).toBe('join');
  });
});

describe('patch upgrades and backoff', () => {
  it('accepts a higher patch of the same minor only', () => {
    expect(comparePatchUpgrade('1.31.4', '1.31.5')).toBe('patch');
    expect(comparePatchUpgrade('1.31.4', '1.31.4')).toBe('same');
    expect(comparePatchUpgrade('1.31.4', '1.32.0')).toMatch(/only patch upgrades within 1\.31/);
    expect(comparePatchUpgrade('1.31.4', '1.31.3')).toMatch(/downgrades/);
    expect(comparePatchUpgrade('1.31.4', 'v1.31.5')).toMatch(/MAJOR\.MINOR\.PATCH/);
  });

  it('doubles the wait after each refusal up to the cap', () => {
    expect([1, 2, 3, 6, 20].map((a) => backoffSeconds(a))).toEqual([30, 60, 120, 900, 900]);
  });
});
