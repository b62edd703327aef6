import type { ActionDef } from './context';
import { familyInfo, INSTANCE_TYPES, InstanceTypeInfo, networkPerformance } from './catalog';
import { clientError } from './errors';
import { compileFilters, readFilters } from './filters';
import { paginate } from './paging';
import type { XmlValue } from './xml';

/**
 * DescribeInstanceTypes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypes.html): the
 * instance types of catalog.ts (the same list the Price List API prices), each as EC2 describes it — `vCpuInfo`,
 * `memoryInfo.sizeInMiB`, `processorInfo.supportedArchitectures`, network and EBS facts. `InstanceType.N` names
 * types (an unknown one: `InvalidInstanceType`); filters `instance-type`, `processor-info.supported-architecture`,
 * `vcpu-info.default-vcpus`, `memory-info.size-in-mib`, `current-generation`, `burstable-performance-supported`,
 * `free-tier-eligible`, `hypervisor`, `processor-info.manufacturer`, `bare-metal`, `supported-usage-class`, … ;
 * `MaxResults` 5–100, and at most 100 per page without it, as EC2 pages this call.
 */

interface TypeRow {
  name: string;
  t: InstanceTypeInfo;
}

const BURSTABLE = /^t\d/;
/** Network interfaces and IPv4 addresses per interface by size ("Maximum IP addresses per network interface"). */
const ENI_LIMITS: Record<string, [number, number]> = {
  nano: [2, 2], micro: [2, 2], small: [3, 4], medium: [3, 6], large: [3, 10], xlarge: [4, 15], '2xlarge': [4, 15], '4xlarge': [8, 30],
};

function facts(r: TypeRow) {
  const fam = familyInfo(r.name);
  const size = r.name.split('.')[1];
  const burstable = BURSTABLE.test(r.name);
  const previous = fam?.currentGeneration === 'No';
  const xen = /^(m1|t2)\./.test(r.name);
  const proc = fam?.physicalProcessor ?? '';
  const manufacturer = proc.startsWith('AWS') ? 'AWS' : proc.startsWith('AMD') ? 'AMD' : 'Intel';
  const clock = /([\d.]+) GHz/.exec(fam?.clockSpeed ?? '')?.[1];
  const threads = r.t.architecture === 'arm64' || r.t.vcpu === 1 ? 1 : 2;
  const cores = r.t.vcpu / threads;
  const [enis, ips] = ENI_LIMITS[size] ?? [3, 10];
  const freeTier = r.name === 't2.micro' || r.name === 't3.micro';
  return { burstable, previous, xen, manufacturer, clock, threads, cores, enis, ips, freeTier };
}

function render(r: TypeRow): XmlValue {
  const f = facts(r);
  const net = networkPerformance(r.name);
  return {
    instanceType: r.name,
    currentGeneration: !f.previous,
    freeTierEligible: f.freeTier,
    supportedUsageClasses: f.previous ? ['on-demand'] : ['on-demand', 'spot'],
    supportedRootDeviceTypes: f.xen ? ['ebs', 'instance-store'] : ['ebs'],
    supportedVirtualizationTypes: f.previous ? ['hvm', 'paravirtual'] : ['hvm'],
    bareMetal: false,
    hypervisor: f.xen ? 'xen' : 'nitro',
    processorInfo: { supportedArchitectures: [r.t.architecture], sustainedClockSpeedInGhz: f.clock === undefined ? undefined : Number(f.clock), manufacturer: f.manufacturer },
    vCpuInfo: {
      defaultVCpus: r.t.vcpu,
      defaultCores: f.cores,
      defaultThreadsPerCore: f.threads,
      validCores: f.burstable || f.xen ? undefined : Array.from({ length: f.cores }, (_, i) => i + 1),
      validThreadsPerCore: f.burstable || f.xen ? undefined : f.threads === 2 ? [1, 2] : [1],
    },
    memoryInfo: { sizeInMiB: r.t.memoryMiB },
    instanceStorageSupported: false,
    ebsInfo: {
      ebsOptimizedSupport: f.xen ? 'unsupported' : 'default',
      encryptionSupport: 'supported',
      nvmeSupport: f.xen ? 'unsupported' : 'required',
    },
    networkInfo: {
      networkPerformance: net,
      maximumNetworkInterfaces: f.enis,
      maximumNetworkCards: 1,
      defaultNetworkCardIndex: 0,
      networkCards: [{ networkCardIndex: 0, networkPerformance: net, maximumNetworkInterfaces: f.enis }],
      ipv4AddressesPerInterface: f.ips,
      ipv6AddressesPerInterface: f.ips,
      ipv6Supported: !f.xen || r.name.startsWith('t2'),
      enaSupport: f.xen ? 'unsupported' : 'required',
      efaSupported: false,
      encryptionInTransitSupported: false,
      enaSrdSupported: false,
    },
    placementGroupInfo: { supportedStrategies: f.burstable ? ['partition', 'spread'] : ['cluster', 'partition', 'spread'] },
    hibernationSupported: !f.previous,
    burstablePerformanceSupported: f.burstable,
    dedicatedHostsSupported: !f.burstable && !f.previous,
    autoRecoverySupported: true,
    supportedBootModes: r.t.architecture === 'arm64' ? ['uefi'] : ['legacy-bios', 'uefi'],
    nitroEnclavesSupport: f.burstable || f.xen ? 'unsupported' : 'supported',
    nitroTpmSupport: f.xen ? 'unsupported' : 'supported',
    nitroTpmInfo: f.xen ? undefined : { supportedVersions: ['2.0'] },
    phcSupport: f.xen ? 'unsupported' : 'supported',
  };
}

export const CATALOG_ACTIONS: Record<string, ActionDef> = {
  DescribeInstanceTypes: {
    op: 'read',
    params: ['DryRun', 'InstanceType', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const names = c.p.strList('InstanceType');
      const unknown = names.filter((n) => !INSTANCE_TYPES.has(n));
      if (unknown.length) throw clientError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
      const rows: TypeRow[] = [...INSTANCE_TYPES].map(([name, t]) => ({ name, t }));
      const match = compileFilters<TypeRow>(readFilters(c.p), {
        'instance-type': (r) => [r.name],
        'processor-info.supported-architecture': (r) => [r.t.architecture],
        'processor-info.manufacturer': (r) => [facts(r).manufacturer],
        'processor-info.sustained-clock-speed-in-ghz': (r) => [facts(r).clock],
        'vcpu-info.default-vcpus': (r) => [r.t.vcpu],
        'vcpu-info.default-cores': (r) => [facts(r).cores],
        'vcpu-info.default-threads-per-core': (r) => [facts(r).threads],
        'memory-info.size-in-mib': (r) => [r.t.memoryMiB],
        'current-generation': (r) => [String(!facts(r).previous)],
        'burstable-performance-supported': (r) => [String(facts(r).burstable)],
        'free-tier-eligible': (r) => [String(facts(r).freeTier)],
        hypervisor: (r) => [facts(r).xen ? 'xen' : 'nitro'],
        'bare-metal': () => ['false'],
        'instance-storage-supported': () => ['false'],
        'network-info.network-performance': (r) => [networkPerformance(r.name)],
        'network-info.maximum-network-interfaces': (r) => [facts(r).enis],
        'supported-usage-class': (r) => (facts(r).previous ? ['on-demand'] : ['on-demand', 'spot']),
        'supported-root-device-type': (r) => (facts(r).xen ? ['ebs', 'instance-store'] : ['ebs']),
        'supported-virtualization-type': (r) => (facts(r).previous ? ['hvm', 'paravirtual'] : ['hvm']),
        'supported-boot-mode': (r) => (r.t.architecture === 'arm64' ? ['uefi'] : ['legacy-bios', 'uefi']),
      });
      const list = rows.filter((r) => (names.length === 0 || names.includes(r.name)) && match(r));
      // EC2 pages this call even without MaxResults (100 a page); MaxResults may be combined with InstanceType.N.
      const page = paginate(list, c.p, c.action, { min: 5, max: 100, defaultMax: 100 });
      return { instanceTypeSet: page.items.map(render), nextToken: page.nextToken };
    },
  },
};
