import { apiMethods, realMethodOf } from './api-methods';
import { MACHINE_TYPES, PRICE_LOCATIONS, REGION_ZONES, UBUNTU_IMAGES } from './catalog';
import { COMPUTE_OPERATIONS } from './compute';
import { AUTO_RANGES } from './networks';
import { computeV1 } from './schema';
import { timestamp } from './util';

describe('gcp sandbox: the operation table against the published Compute v1 API', () => {
  it('knows every real method with its verb and path template', () => {
    expect(apiMethods().length).toBeGreaterThan(700);
    expect(realMethodOf('GET', '/compute/v1/projects/p/zones/us-east4-a/disks/d')?.name).toBe('disks.get');
    expect(realMethodOf('POST', '/compute/v1/projects/p/zones/us-east4-a/instances/vm/setMetadata')?.name).toBe('instances.setMetadata');
    expect(realMethodOf('GET', '/compute/v1/projects/p/global/backendServices')?.name).toBe('backendServices.list');
    expect(realMethodOf('POST', '/compute/v1/projects/p/zones/z/operations/op/wait')?.name).toBe('zoneOperations.wait');
    expect(realMethodOf('GET', '/compute/beta/projects/p/zones/z/instances')?.name).toBe('beta/instances.list');
  });

  it('tells bogus paths and verbs from real methods', () => {
    expect(realMethodOf('GET', '/compute/v1/projects/p/global/nonsense')).toBeUndefined();
    expect(realMethodOf('GET', '/compute/v1/projects/p/zones/z/instances/vm/bogusVerb')).toBeUndefined();
    expect(realMethodOf('PUT', '/compute/v1/projects/p/global/networks')).toBeUndefined();
    expect(realMethodOf('GET', '/compute/v2/projects/p/global/networks')).toBeUndefined();
  });

  it('serves each table entry under the name and template the API description gives it', () => {
    for (const [name, def] of Object.entries(COMPUTE_OPERATIONS)) {
      const real = apiMethods().find((m) => m.name === name && m.httpMethod === def.method);
      const shape = (t: string | undefined) => t?.replace(/\{[^}]+\}/g, '{}'); // the proto names parameters in snake_case
      expect({ name, template: shape(real?.template) }).toEqual({ name, template: shape(`/compute/v1/${def.path}`) });
    }
  });

  it('takes exactly the query parameters of each method\'s request message (fields not in the path or body)', () => {
    const v1 = computeV1() as Record<string, { methods?: Record<string, { requestType: string; options?: Record<string, string> }>; fields?: Record<string, unknown> }>;
    const camel = (x: string) => x.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    const upper = (x: string) => x.charAt(0).toUpperCase() + x.slice(1);
    for (const [name, def] of Object.entries(COMPUTE_OPERATIONS)) {
      const [collection, method] = name.split('.');
      const m = v1[upper(collection)]?.methods?.[upper(method)];
      const template = Object.entries(m?.options ?? {}).find(([k]) => /\.(get|post|put|patch|delete)$/.test(k))?.[1] ?? '';
      const inPath = new Set([...template.matchAll(/\{([^}]+)\}/g)].map((x) => camel(x[1])));
      const body = camel(m?.options?.['(google.api.http).body'] ?? '');
      const expected = Object.keys(v1[m?.requestType ?? '']?.fields ?? {}).map(camel).filter((f) => !inPath.has(f) && f !== body).sort();
      expect({ name, query: [...(def.query ?? [])].sort() }).toEqual({ name, query: expected });
    }
  });
});

describe('gcp sandbox: catalogue', () => {
  it('has the public regions, each priced, each with an auto-mode range inside 10.128.0.0/9', () => {
    const regions = Object.keys(REGION_ZONES);
    expect(regions.length).toBeGreaterThanOrEqual(40);
    for (const r of regions) {
      expect(PRICE_LOCATIONS.filter((l) => l.regions.includes(r))).toHaveLength(1);
      expect(AUTO_RANGES[r]).toMatch(/^10\.(1[2-9]\d|2[0-5]\d)\.0\.0\/20$/);
    }
    expect(new Set(Object.values(AUTO_RANGES)).size).toBe(regions.length);
  });

  it('has >= 50 machine types with vCPUs, memory and architecture, and Ubuntu LTS for both architectures', () => {
    expect(Object.keys(MACHINE_TYPES).length).toBeGreaterThanOrEqual(50);
    expect(MACHINE_TYPES['c4a-standard-4']).toEqual({ cpus: 4, memoryMb: 16384, arch: 'ARM64' });
    expect(MACHINE_TYPES['e2-standard-2']).toEqual({ cpus: 2, memoryMb: 8192, arch: 'X86_64' });
    expect(UBUNTU_IMAGES.filter((i) => !i.replacedBy && i.family === 'ubuntu-2404-lts-arm64')[0]?.architecture).toBe('ARM64');
  });
});

describe('gcp sandbox: timestamps', () => {
  it('writes Pacific time with the offset of the date (PST in winter, PDT in summer)', () => {
    expect(timestamp(new Date('2026-01-15T17:30:00.123Z'))).toBe('2026-01-15T09:30:00.123-08:00');
    expect(timestamp(new Date('2026-07-15T17:30:00.123Z'))).toBe('2026-07-15T10:30:00.123-07:00');
    expect(timestamp(new Date('2026-03-08T09:59:59.999Z'))).toBe('2026-03-08T01:59:59.999-08:00');
    expect(timestamp(new Date('2026-03-08T10:00:00.000Z'))).toBe('2026-03-08T03:00:00.000-07:00');
    expect(timestamp(new Date('2026-11-01T09:00:00.000Z'))).toBe('2026-11-01T01:00:00.000-08:00');
  });
});
