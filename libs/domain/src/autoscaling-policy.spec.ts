import { DEFAULT_AUTOSCALING_POLICY, diffAutoscalingPolicies, validateAutoscalingPolicy, type AutoscalingPolicy } from './autoscaling-policy';

const CLOUDS = ['aws', 'gcp'] as const;
const rules = (p: unknown, clouds: readonly ('aws' | 'gcp' | 'azure' | 'digitalocean')[] = CLOUDS) =>
  validateAutoscalingPolicy(p, clouds).violations.map((v) => `${v.field} ${v.rule}`);

describe('validateAutoscalingPolicy', () => {
  it('fills every field left out with its default, at every level', () => {
    expect(validateAutoscalingPolicy({}, CLOUDS)).toEqual({ policy: DEFAULT_AUTOSCALING_POLICY, violations: [] });
    const r = validateAutoscalingPolicy({ enabled: true, nodeDownscaler: { underutilized: { enabled: true } } }, CLOUDS);
    expect(r.violations).toEqual([]);
    expect(r.policy).toEqual({
      ...DEFAULT_AUTOSCALING_POLICY, enabled: true,
      nodeDownscaler: { ...DEFAULT_AUTOSCALING_POLICY.nodeDownscaler, underutilized: { enabled: true, thresholdPercent: 50, delaySeconds: 600 } },
    });
  });

  it('has the documented defaults, frozen', () => {
    expect(DEFAULT_AUTOSCALING_POLICY).toEqual({
      enabled: false,
      clusterLimits: { cpu: { minCores: 0, maxCores: 64 } },
      unschedulablePods: { enabled: true, headroom: { cpuPercentage: 0, memoryPercentage: 0 }, nodeConstraints: {} },
      nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 300 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } },
    });
    expect(Object.isFrozen(DEFAULT_AUTOSCALING_POLICY.clusterLimits.cpu)).toBe(true);
  });

  it('accepts a full policy and returns it unchanged', () => {
    const full: AutoscalingPolicy = {
      enabled: true,
      clusterLimits: { cpu: { minCores: 4, maxCores: 10_000 } },
      unschedulablePods: {
        enabled: true, headroom: { cpuPercentage: 12.5, memoryPercentage: 50 },
        nodeConstraints: { minCpuCores: 2, maxCpuCores: 16, minRamMib: 4096, maxRamMib: 65536 },
        clouds: ['gcp'], instanceFamilies: { exclude: ['t3', 'e2'] },
      },
      nodeDownscaler: { enabled: false, emptyNodes: { enabled: false, delaySeconds: 0 }, underutilized: { enabled: true, thresholdPercent: 100, delaySeconds: 86_400 } },
    };
    expect(validateAutoscalingPolicy(full, CLOUDS)).toEqual({ policy: full, violations: [] });
    // null means absent for the optional fields
    const nulls = validateAutoscalingPolicy({ unschedulablePods: { clouds: null, instanceFamilies: null, nodeConstraints: { minCpuCores: null } } }, CLOUDS);
    expect(nulls).toEqual({ policy: DEFAULT_AUTOSCALING_POLICY, violations: [] });
  });

  it.each([
    ['a body that is not an object', [1], '(body) object'],
    ['null body', null, '(body) object'],
    ['an unknown top-level field', { colour: 'blue' }, 'colour unknown-field'],
    ['an unknown nested field', { clusterLimits: { memory: {} } }, 'clusterLimits.memory unknown-field'],
    ['a deeper unknown field', { nodeDownscaler: { emptyNodes: { delay: 5 } } }, 'nodeDownscaler.emptyNodes.delay unknown-field'],
    ['a non-boolean enabled', { enabled: 'yes' }, 'enabled boolean'],
    ['null for a required field', { enabled: null }, 'enabled boolean'],
    ['a section that is not an object', { clusterLimits: 5 }, 'clusterLimits object'],
    ['negative minCores', { clusterLimits: { cpu: { minCores: -1 } } }, 'clusterLimits.cpu.minCores min'],
    ['maxCores above 10000', { clusterLimits: { cpu: { maxCores: 10_001 } } }, 'clusterLimits.cpu.maxCores max'],
    ['fractional cores', { clusterLimits: { cpu: { maxCores: 1.5 } } }, 'clusterLimits.cpu.maxCores integer'],
    ['cores as a string', { clusterLimits: { cpu: { maxCores: '8' } } }, 'clusterLimits.cpu.maxCores integer'],
    ['minCores above maxCores', { clusterLimits: { cpu: { minCores: 10, maxCores: 8 } } }, 'clusterLimits.cpu.minCores min-not-above-max'],
    ['minCores above the default maxCores', { clusterLimits: { cpu: { minCores: 65 } } }, 'clusterLimits.cpu.minCores min-not-above-max'],
    ['headroom above 50', { unschedulablePods: { headroom: { cpuPercentage: 51 } } }, 'unschedulablePods.headroom.cpuPercentage max'],
    ['negative headroom', { unschedulablePods: { headroom: { memoryPercentage: -0.5 } } }, 'unschedulablePods.headroom.memoryPercentage min'],
    ['NaN-like headroom', { unschedulablePods: { headroom: { cpuPercentage: 'NaN' } } }, 'unschedulablePods.headroom.cpuPercentage number'],
    ['zero node cores', { unschedulablePods: { nodeConstraints: { minCpuCores: 0 } } }, 'unschedulablePods.nodeConstraints.minCpuCores min'],
    ['fractional RAM', { unschedulablePods: { nodeConstraints: { maxRamMib: 1024.5 } } }, 'unschedulablePods.nodeConstraints.maxRamMib integer'],
    ['node min CPU above max', { unschedulablePods: { nodeConstraints: { minCpuCores: 8, maxCpuCores: 4 } } }, 'unschedulablePods.nodeConstraints.minCpuCores min-not-above-max'],
    ['node min RAM above max', { unschedulablePods: { nodeConstraints: { minRamMib: 8192, maxRamMib: 4096 } } }, 'unschedulablePods.nodeConstraints.minRamMib min-not-above-max'],
    ['clouds not a list', { unschedulablePods: { clouds: 'aws' } }, 'unschedulablePods.clouds array'],
    ['empty clouds', { unschedulablePods: { clouds: [] } }, 'unschedulablePods.clouds non-empty'],
    ['an unknown cloud', { unschedulablePods: { clouds: ['aws', 'ibm'] } }, 'unschedulablePods.clouds[1] known-cloud'],
    ['a cloud outside the cluster', { unschedulablePods: { clouds: ['azure'] } }, 'unschedulablePods.clouds[0] cloud-in-cluster'],
    ['a repeated cloud', { unschedulablePods: { clouds: ['aws', 'aws'] } }, 'unschedulablePods.clouds[1] unique'],
    ['both include and exclude', { unschedulablePods: { instanceFamilies: { include: ['m5'], exclude: ['t3'] } } }, 'unschedulablePods.instanceFamilies include-or-exclude'],
    ['neither include nor exclude', { unschedulablePods: { instanceFamilies: {} } }, 'unschedulablePods.instanceFamilies include-or-exclude'],
    ['an empty include', { unschedulablePods: { instanceFamilies: { include: [] } } }, 'unschedulablePods.instanceFamilies.include non-empty'],
    ['an empty family name', { unschedulablePods: { instanceFamilies: { include: ['m5', ' '] } } }, 'unschedulablePods.instanceFamilies.include[1] non-empty'],
    ['a family that is not a string', { unschedulablePods: { instanceFamilies: { exclude: [5] } } }, 'unschedulablePods.instanceFamilies.exclude[0] string'],
    ['an unknown instanceFamilies field', { unschedulablePods: { instanceFamilies: { only: ['m5'] } } }, 'unschedulablePods.instanceFamilies.only unknown-field'],
    ['a delay above a day', { nodeDownscaler: { emptyNodes: { delaySeconds: 86_401 } } }, 'nodeDownscaler.emptyNodes.delaySeconds max'],
    ['a negative delay', { nodeDownscaler: { underutilized: { delaySeconds: -1 } } }, 'nodeDownscaler.underutilized.delaySeconds min'],
    ['a zero threshold', { nodeDownscaler: { underutilized: { thresholdPercent: 0 } } }, 'nodeDownscaler.underutilized.thresholdPercent min'],
    ['a threshold above 100', { nodeDownscaler: { underutilized: { thresholdPercent: 101 } } }, 'nodeDownscaler.underutilized.thresholdPercent max'],
  ])('refuses %s', (_what, body, expected) => {
    const r = validateAutoscalingPolicy(body, CLOUDS);
    expect(r.policy).toBeUndefined();
    expect(r.violations.map((v) => `${v.field} ${v.rule}`)).toContain(expected);
    for (const v of r.violations) expect(v.message).toEqual(expect.any(String));
  });

  it('reports every violation at once, in field order', () => {
    expect(rules({ enabled: 1, clusterLimits: { cpu: { maxCores: -1 } }, nodeDownscaler: { x: 1, underutilized: { thresholdPercent: 0 } } })).toEqual([
      'enabled boolean', 'clusterLimits.cpu.maxCores min', 'nodeDownscaler.x unknown-field', 'nodeDownscaler.underutilized.thresholdPercent min',
    ]);
  });

  it('checks clouds against the clusters own, so a stored policy can be re-checked', () => {
    const p = { unschedulablePods: { clouds: ['gcp'] } };
    expect(rules(p, ['aws', 'gcp'])).toEqual([]);
    expect(rules(p, ['aws'])).toEqual(['unschedulablePods.clouds[0] cloud-in-cluster']);
  });
});

describe('diffAutoscalingPolicies', () => {
  const change = (body: unknown) => validateAutoscalingPolicy(body, CLOUDS).policy!;

  it('lists each changed leaf as path: before → after, in field order', () => {
    expect(diffAutoscalingPolicies(DEFAULT_AUTOSCALING_POLICY, change({ enabled: true, clusterLimits: { cpu: { maxCores: 32 } } })))
      .toEqual(['enabled: false → true', 'clusterLimits.cpu.maxCores: 64 → 32']);
  });

  it('shows optional fields set and unset, lists as JSON, and nothing for equal policies', () => {
    const a = change({ unschedulablePods: { clouds: ['aws'], instanceFamilies: { include: ['m5'] }, nodeConstraints: { minCpuCores: 2 } } });
    expect(diffAutoscalingPolicies(DEFAULT_AUTOSCALING_POLICY, a)).toEqual([
      'unschedulablePods.nodeConstraints.minCpuCores: unset → 2', 'unschedulablePods.clouds: unset → ["aws"]', 'unschedulablePods.instanceFamilies: unset → {"include":["m5"]}',
    ]);
    const b = change({ unschedulablePods: { clouds: ['aws', 'gcp'], instanceFamilies: { exclude: ['m5'] } } });
    expect(diffAutoscalingPolicies(a, b)).toEqual([
      'unschedulablePods.nodeConstraints.minCpuCores: 2 → unset', 'unschedulablePods.clouds: ["aws"] → ["aws","gcp"]',
      'unschedulablePods.instanceFamilies: {"include":["m5"]} → {"exclude":["m5"]}',
    ]);
    expect(diffAutoscalingPolicies(b, structuredClone(b))).toEqual([]);
  });
});
