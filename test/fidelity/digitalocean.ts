import { createApiClient } from 'dots-wrapper';
import { check, CloudFixture, FidelityCheck } from './types';

/**
 * DigitalOcean's checks of the fidelity suite (test/fidelity/main.ts): the common reads and error edge cases of API v2,
 * through `dots-wrapper` (the client Skyweave's adapter uses, built as out-of-band.ts builds it) where it has the call,
 * otherwise plain `fetch` with the documented shape (reserved IPs, paging and bad-token probes). Expectations come from
 * the API reference: https://docs.digitalocean.com/reference/api/api-reference/
 */

const REF = 'https://docs.digitalocean.com/reference/api/api-reference/';
const ref = (anchor: string): string => `${REF}#${anchor}`;

type Api = ReturnType<typeof createApiClient>;
const api = (f: CloudFixture, token = tokenOf(f)): Api => createApiClient({ token, endpoint: f.endpoints.digitalocean, requestTimeoutInMs: 30_000 });

function tokenOf(f: CloudFixture): string {
  if (f.credentials.cloud !== 'digitalocean') throw new Error('not a DigitalOcean fixture');
  return f.credentials.digitalocean.token;
}

/** `GET|POST … /v2<path>` with the account's token, as the reference's curl samples do. */
async function raw(f: CloudFixture, method: string, path: string, body?: unknown, token = tokenOf(f)): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${f.endpoints.digitalocean}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The status and `{id, message}` of a failed dots-wrapper (axios) call; throws when the call succeeded. */
async function failure(p: Promise<unknown>): Promise<{ status: number; id: string; message: string; request_id: unknown }> {
  try {
    await p;
  } catch (e) {
    const r = (e as { response?: { status: number; data?: { id?: string; message?: string; request_id?: unknown } } }).response;
    if (!r) throw e;
    return { status: r.status, id: r.data?.id ?? '', message: r.data?.message ?? '', request_id: r.data?.request_id };
  }
  throw new Error('the call succeeded; an error was expected');
}

function expectError(got: { status: number; id: string; message: string; request_id: unknown }, status: number, id: string, message?: string | RegExp): void {
  check(got.status === status && got.id === id, `expected ${status} ${id}, got ${got.status} ${got.id} (${got.message})`);
  if (typeof message === 'string') check(got.message === message, `expected message "${message}", got "${got.message}"`);
  else if (message) check(message.test(got.message), `expected message ${String(message)}, got "${got.message}"`);
  check(typeof got.request_id === 'string', 'the error carries no request_id');
}

/** Fields every element of a list must carry, with their JSON types. */
function hasFields(o: unknown, fields: Record<string, 'string' | 'number' | 'boolean' | 'object' | 'array' | 'string|null'>, what: string): void {
  check(typeof o === 'object' && o !== null, `${what} is not an object`);
  const r = o as Record<string, unknown>;
  for (const [k, t] of Object.entries(fields)) {
    const v = r[k];
    const ok = t === 'array' ? Array.isArray(v) : t === 'string|null' ? v === null || typeof v === 'string' : t === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === t;
    check(ok, `${what}.${k} is ${JSON.stringify(v)}, not ${t}`);
  }
}

/** A list answer's envelope: `links` object and `meta.total`. */
function envelope(body: { links?: unknown; meta?: { total?: unknown } }, what: string): void {
  check(typeof body.links === 'object' && body.links !== null, `${what}: no links`);
  check(typeof body.meta?.total === 'number', `${what}: no meta.total`);
}

const ACTION_FIELDS = { id: 'number', status: 'string', type: 'string', started_at: 'string', completed_at: 'string|null', resource_id: 'number', resource_type: 'string', region: 'object', region_slug: 'string' } as const;
const IMAGE_FIELDS = { id: 'number', name: 'string', type: 'string', distribution: 'string', slug: 'string', public: 'boolean', regions: 'array', created_at: 'string', min_disk_size: 'number', size_gigabytes: 'number', description: 'string', tags: 'array', status: 'string' } as const;
/** A well-formed ed25519 public key nobody else uses (fingerprint per ssh-keygen -E md5). */
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKBDJ+j3EWfBy13ypxcft8iinlUmxapGSy+Pzu4VNBJg fidelity@sandbox';
const FINGERPRINT = '01:98:5c:cb:ff:cf:e6:23:65:d6:be:81:a0:6b:c2:81';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** The worker's id as a number (Skyweave's Instance.id is the Droplet id as a string). */
const dropletId = (f: CloudFixture): number => Number(f.instance.id);

/** An empty account-wide list through dots-wrapper: the key holds an array, the envelope is there. */
function emptyList(operation: string, anchor: string, key: string, call: (a: Api) => Promise<{ data: unknown }>): FidelityCheck {
  return {
    kind: 'read',
    operation,
    reference: ref(anchor),
    async run(f) {
      const { data } = await call(api(f));
      const body = data as Record<string, unknown> & { meta?: { total?: unknown } };
      check(Array.isArray(body[key]), `no ${key} array`);
      envelope(body, operation);
    },
  };
}

export const checks: FidelityCheck[] = [
  // ---------------------------------------------------------------- reads
  {
    kind: 'read',
    operation: 'GET /v2/account',
    reference: ref('operation/account_get'),
    async run(f) {
      const { data } = await api(f).account.getAccount();
      hasFields(data.account, { droplet_limit: 'number', floating_ip_limit: 'number', email: 'string', uuid: 'string', email_verified: 'boolean', status: 'string', status_message: 'string' }, 'account');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/regions',
    reference: ref('operation/regions_list'),
    async run(f) {
      const { data } = await api(f).region.listRegions({ per_page: 200 });
      for (const r of data.regions) hasFields(r, { slug: 'string', name: 'string', features: 'array', available: 'boolean', sizes: 'array' }, `region ${r.slug}`);
      const available = data.regions.filter((r) => r.available).map((r) => r.slug);
      for (const slug of ['nyc1', 'nyc3', 'sfo3', 'ams3', 'sgp1', 'lon1', 'fra1', 'tor1', 'blr1', 'syd1']) check(available.includes(slug), `region ${slug} missing or unavailable`);
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/sizes',
    reference: ref('operation/sizes_list'),
    async run(f) {
      const { data } = await api(f).size.listSizes({ per_page: 200 });
      check(data.sizes.length >= 50, `only ${data.sizes.length} sizes`);
      for (const s of data.sizes) {
        hasFields(s, { slug: 'string', memory: 'number', vcpus: 'number', disk: 'number', transfer: 'number', price_monthly: 'number', price_hourly: 'number', regions: 'array', available: 'boolean', description: 'string' }, `size ${s.slug}`);
        check(Math.abs(s.price_hourly * 672 - s.price_monthly) < 0.01, `size ${s.slug}: price_hourly × 672 ≠ price_monthly`);
      }
      const two = data.sizes.find((s) => s.slug === 's-2vcpu-4gb');
      check(two?.vcpus === 2 && two.memory === 4096, 's-2vcpu-4gb is not 2 vCPU / 4096 MiB');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/images',
    case: 'type=distribution, paged',
    reference: ref('operation/images_list'),
    async run(f) {
      const a = api(f);
      const { data } = await a.image.listImages({ type: 'distribution', per_page: 200 });
      for (const i of data.images) hasFields(i, IMAGE_FIELDS, `image ${i.slug}`);
      const slugs = data.images.map((i) => i.slug);
      for (const s of ['ubuntu-24-04-x64', 'ubuntu-22-04-x64', 'debian-12-x64']) check(slugs.includes(s), `no ${s} among distribution images`);
      envelope(data, 'images');
      const p1 = (await a.image.listImages({ type: 'distribution', per_page: 2, page: 1 })).data as unknown as { images: unknown[]; links: { pages?: { next?: string; last?: string } }; meta: { total: number } };
      check(p1.images.length === 2 && p1.meta.total === data.images.length, 'per_page=2 does not give 2 of the total');
      check(typeof p1.links.pages?.next === 'string' && /page=2/.test(p1.links.pages.next), 'page 1 has no links.pages.next to page 2');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/images',
    case: 'private=true (the account\'s own images)',
    reference: ref('operation/images_list'),
    async run(f) {
      const { data } = await api(f).image.listImages({ user_images: true });
      check(Array.isArray(data.images) && data.images.length === 0, 'a fresh account has private images');
      envelope(data, 'images');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/images/:slug',
    reference: ref('operation/images_get'),
    async run(f) {
      const { data } = await api(f).image.getImage({ slug: 'ubuntu-24-04-x64' } as never);
      hasFields(data.image, IMAGE_FIELDS, 'image');
      check(data.image.slug === 'ubuntu-24-04-x64' && data.image.distribution === 'Ubuntu' && data.image.public, 'not the public Ubuntu 24.04 image');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/images/:id',
    reference: ref('operation/images_get'),
    async run(f) {
      const a = api(f);
      const bySlug = (await a.image.getImage({ slug: 'ubuntu-22-04-x64' } as never)).data.image;
      const { data } = await a.image.getImage({ image_id: bySlug.id });
      check(data.image.id === bySlug.id && data.image.slug === 'ubuntu-22-04-x64', 'the image by id is not the image by slug');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/droplets/:id',
    reference: ref('operation/droplets_get'),
    async run(f) {
      const { data } = await api(f).droplet.getDroplet({ droplet_id: dropletId(f) });
      hasFields(data.droplet, { id: 'number', name: 'string', memory: 'number', vcpus: 'number', disk: 'number', status: 'string', created_at: 'string', image: 'object', size: 'object', size_slug: 'string', networks: 'object', region: 'object', tags: 'array', vpc_uuid: 'string' }, 'droplet');
      check(data.droplet.status === 'active', `the running worker is ${data.droplet.status}`);
      check(ISO.test(data.droplet.created_at), `created_at ${data.droplet.created_at} is not as DigitalOcean writes it`);
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/droplets/:id/actions',
    reference: ref('operation/dropletActions_list'),
    async run(f) {
      const { data } = await api(f).droplet.listDropletActions({ droplet_id: dropletId(f) });
      envelope(data, 'actions');
      for (const x of data.actions) hasFields(x, ACTION_FIELDS, `action ${x.id}`);
      const create = data.actions.find((x) => x.type === 'create');
      check(create?.status === 'completed' && create.resource_id === dropletId(f), 'the running worker has no completed create action');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/actions/:id',
    case: 'a Droplet create\'s links.actions[0]: in-progress, then completed when active',
    reference: ref('operation/actions_get'),
    async run(f) {
      const a = api(f);
      const created = await a.droplet.createDroplet({ name: 'fidelity-actions', region: f.region, size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', vpc_uuid: f.network.vpcId });
      const link = (created.data as unknown as { links: { actions: { id: number; rel: string; href: string }[] } }).links.actions[0];
      check(link?.rel === 'create' && link.href.endsWith(`/v2/actions/${link.id}`), 'no links.actions[0] for the create');
      const first = (await a.action.getAction({ action_id: link.id })).data.action;
      hasFields(first, ACTION_FIELDS, 'action');
      check(first.type === 'create' && first.resource_id === created.data.droplet.id, 'the action is not the Droplet\'s create');
      const deadline = Date.now() + 10_000;
      let status = first.status;
      while (status !== 'completed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await a.action.getAction({ action_id: link.id })).data.action.status;
      }
      check(first.status === 'in-progress' || first.status === 'completed', `first status ${first.status}`);
      check(status === 'completed', `the create action is ${status} after 10 s`);
      const d = (await a.droplet.getDroplet({ droplet_id: created.data.droplet.id })).data.droplet;
      check(d.status === 'active', `completed create, but the Droplet is ${d.status}`);
      await a.droplet.deleteDroplet({ droplet_id: d.id });
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/actions',
    reference: ref('operation/actions_list'),
    async run(f) {
      const { data } = await api(f).action.listActions({ per_page: 200 });
      envelope(data, 'actions');
      check(data.actions.length > 0, 'the account has made Droplets but lists no actions');
      for (const x of data.actions) hasFields(x, ACTION_FIELDS, `action ${x.id}`);
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/account/keys',
    reference: ref('operation/sshKeys_list'),
    async run(f) {
      const a = api(f);
      const made = (await a.sshKey.createSshKey({ name: 'fidelity', public_key: PUBLIC_KEY })).data.ssh_key;
      check(made.fingerprint === FINGERPRINT, `fingerprint ${made.fingerprint}, expected ${FINGERPRINT} (MD5 of the key blob)`);
      const { data } = await a.sshKey.listSshKeys({ per_page: 200 });
      envelope(data, 'ssh_keys');
      const k = data.ssh_keys.find((x) => x.id === made.id);
      hasFields(k, { id: 'number', fingerprint: 'string', public_key: 'string', name: 'string' }, 'ssh_key');
    },
  },
  {
    kind: 'read',
    operation: 'GET/PUT/DELETE /v2/account/keys/:id_or_fingerprint',
    reference: ref('operation/sshKeys_get'),
    async run(f) {
      const a = api(f);
      const keys = (await a.sshKey.listSshKeys({})).data.ssh_keys;
      const key = keys.find((k) => k.fingerprint === FINGERPRINT) ?? (await a.sshKey.createSshKey({ name: 'fidelity', public_key: PUBLIC_KEY })).data.ssh_key;
      check((await a.sshKey.getSshKey({ ssh_key_id: key.id })).data.ssh_key.fingerprint === FINGERPRINT, 'get by id');
      check((await a.sshKey.getSshKey({ ssh_key_id: FINGERPRINT })).data.ssh_key.id === key.id, 'get by fingerprint');
      check((await a.sshKey.updateSshKey({ ssh_key_id: FINGERPRINT, name: 'renamed' })).data.ssh_key.name === 'renamed', 'rename by fingerprint');
      const created = await a.droplet.createDroplet({ name: 'fidelity-keys', region: f.region, size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', vpc_uuid: f.network.vpcId, ssh_keys: [key.id, FINGERPRINT] });
      await a.droplet.deleteDroplet({ droplet_id: created.data.droplet.id });
      await a.sshKey.destroySshKey({ ssh_key_id: key.id });
      const gone = await failure(a.sshKey.getSshKey({ ssh_key_id: key.id }));
      check(gone.status === 404, `a deleted key answers ${gone.status}`);
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/projects',
    reference: ref('operation/projects_list'),
    async run(f) {
      const { data } = await api(f).project.listProjects({});
      envelope(data, 'projects');
      for (const p of data.projects) hasFields(p, { id: 'string', owner_uuid: 'string', owner_id: 'number', name: 'string', description: 'string', purpose: 'string', environment: 'string', is_default: 'boolean', created_at: 'string', updated_at: 'string' }, `project ${p.name}`);
      check(data.projects.filter((p) => p.is_default).length === 1, 'a real account has exactly one default project');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/projects/default',
    reference: ref('operation/projects_get_default'),
    async run(f) {
      const a = api(f);
      const { data } = await a.project.getDefaultProject();
      check(data.project.is_default === true, 'the default project is not is_default');
      check((await a.project.getProject({ project_id: data.project.id })).data.project.id === data.project.id, 'GET /v2/projects/:id does not find the default project');
      const res = (await a.project.listDefaultProjectResources({})).data;
      check(res.resources.some((r) => r.urn === `do:droplet:${f.instance.id}`), 'the worker is not among the default project\'s resources');
    },
  },
  emptyList('GET /v2/volumes', 'operation/volumes_list', 'volumes', (a) => a.volume.listVolumes({})),
  emptyList('GET /v2/load_balancers', 'operation/loadBalancers_list', 'load_balancers', (a) => a.loadBalancer.listLoadBalancers({})),
  emptyList('GET /v2/domains', 'operation/domains_list', 'domains', (a) => a.domain.listDomains({})),
  emptyList('GET /v2/floating_ips', 'operation/floatingIPs_list', 'floating_ips', (a) => a.floatingIp.listFloatingIps({})),
  {
    kind: 'read',
    operation: 'GET /v2/reserved_ips',
    reference: ref('operation/reservedIPs_list'),
    async run(f) {
      const r = await raw(f, 'GET', '/reserved_ips');
      check(r.status === 200 && Array.isArray(r.body.reserved_ips), `status ${r.status}, no reserved_ips array`);
      envelope(r.body, 'reserved_ips');
    },
  },
  {
    kind: 'read',
    operation: 'GET /v2/vpcs/:id/members',
    reference: ref('operation/vpcs_list_members'),
    async run(f) {
      const { data } = await api(f).vpc.listVpcResources({ vpc_id: f.network.vpcId });
      check(data.members.some((m) => m.urn === `do:droplet:${f.instance.id}`), 'the worker is not a member of its VPC');
    },
  },

  // ---------------------------------------------------------------- errors
  {
    kind: 'error',
    operation: 'GET /v2/droplets/:id',
    case: 'unknown Droplet',
    reference: ref('section/Introduction/HTTP-Statuses'),
    async run(f) {
      expectError(await failure(api(f).droplet.getDroplet({ droplet_id: 999_999_999 })), 404, 'not_found', 'The resource you were accessing could not be found.');
    },
  },
  {
    kind: 'error',
    operation: 'GET /v2/actions/:id',
    case: 'unknown action',
    reference: ref('operation/actions_get'),
    async run(f) {
      expectError(await failure(api(f).action.getAction({ action_id: 1 })), 404, 'not_found', 'The resource you were accessing could not be found.');
    },
  },
  {
    kind: 'error',
    operation: 'GET /v2/account',
    case: 'a token that is not one',
    reference: ref('section/Introduction/HTTP-Statuses'),
    async run(f) {
      expectError(await failure(api(f, `dop_v1_${'0'.repeat(64)}`).account.getAccount()), 401, 'unauthorized', 'Unable to authenticate you');
    },
  },
  ...(
    [
      ['an unknown size', { size: 's-99vcpu-1tb' }, 'You specified an invalid size for Droplet creation.'],
      ['an unknown region', { region: 'xyz9' }, 'You specified an invalid region for Droplet creation.'],
      ['an unknown image', { image: 'ubuntu-10-04-x64' }, 'You specified an invalid image for Droplet creation.'],
      ['ssh_keys naming no key of the account', { ssh_keys: [123] }, '123 are invalid key identifiers for Droplet creation.'],
    ] as const
  ).map(
    ([what, over, message]): FidelityCheck => ({
      kind: 'error',
      operation: 'POST /v2/droplets',
      case: what,
      reference: ref('operation/droplets_create'),
      async run(f) {
        const body = { name: 'fidelity-bad', region: f.region, size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', ...over };
        expectError(await failure(api(f).droplet.createDroplet(body as never)), 422, 'unprocessable_entity', message);
      },
    }),
  ),
  {
    kind: 'error',
    operation: 'POST /v2/account/keys',
    case: 'a key already on the account',
    reference: ref('operation/sshKeys_create'),
    async run(f) {
      const a = api(f);
      const k = (await a.sshKey.createSshKey({ name: 'dup-1', public_key: PUBLIC_KEY })).data.ssh_key;
      try {
        expectError(await failure(a.sshKey.createSshKey({ name: 'dup-2', public_key: PUBLIC_KEY })), 422, 'unprocessable_entity', 'SSH Key is already in use on your account');
      } finally {
        await a.sshKey.destroySshKey({ ssh_key_id: k.id });
      }
    },
  },
  {
    kind: 'error',
    operation: 'POST /v2/account/keys',
    case: 'not a public key',
    reference: ref('operation/sshKeys_create'),
    async run(f) {
      expectError(await failure(api(f).sshKey.createSshKey({ name: 'bad', public_key: 'ssh-rsa not-a-key' })), 422, 'unprocessable_entity');
    },
  },
  {
    kind: 'error',
    operation: 'POST /v2/firewalls',
    case: 'a rule with a port out of range',
    reference: ref('operation/firewalls_create'),
    async run(f) {
      const body = { name: 'fidelity-bad-fw', inbound_rules: [{ protocol: 'tcp', ports: '70000', sources: { addresses: ['0.0.0.0/0'] } }], outbound_rules: [] };
      expectError(await failure(api(f).firewall.createFirewall(body as never)), 422, 'unprocessable_entity');
    },
  },
  {
    kind: 'error',
    operation: 'POST /v2/vpcs',
    case: 'an ip_range overlapping a VPC of the account',
    reference: ref('operation/vpcs_create'),
    async run(f) {
      const range = (await api(f).vpc.getVpc({ vpc_id: f.network.vpcId })).data.vpc.ip_range;
      expectError(await failure(api(f).vpc.createVpc({ name: 'fidelity-overlap', region: f.region, ip_range: range } as never)), 422, 'unprocessable_entity', /overlap/);
    },
  },
  {
    kind: 'error',
    operation: 'DELETE /v2/vpcs/:id',
    case: 'a VPC that still has members',
    reference: ref('operation/vpcs_delete'),
    async run(f) {
      expectError(await failure(api(f).vpc.deleteVpc({ vpc_id: f.network.vpcId })), 403, 'forbidden');
    },
  },
  {
    kind: 'error',
    operation: 'GET /v2/droplets',
    case: 'a page beyond the last: 200, empty, links back',
    reference: ref('section/Introduction/Links-and-Pagination'),
    async run(f) {
      const r = await raw(f, 'GET', '/droplets?page=50&per_page=20');
      check(r.status === 200, `status ${r.status}`);
      const body = r.body as { droplets?: unknown[]; links?: { pages?: { first?: string; prev?: string; next?: string } }; meta?: { total?: number } };
      check(Array.isArray(body.droplets) && body.droplets.length === 0, 'droplets is not an empty array');
      check(typeof body.meta?.total === 'number' && body.meta.total >= 1, 'meta.total does not count the account\'s Droplets');
      check(typeof body.links?.pages?.first === 'string' && body.links.pages.next === undefined, 'links.pages should lead back (first), not on (next)');
    },
  },
  {
    kind: 'error',
    operation: 'GET /v2/droplets',
    case: 'tag_name and name together',
    reference: ref('operation/droplets_list'),
    async run(f) {
      const r = await raw(f, 'GET', '/droplets?tag_name=x&name=y');
      check(r.status === 422 && r.body.id === 'unprocessable_entity', `got ${r.status} ${String(r.body.id)}`);
    },
  },
];
