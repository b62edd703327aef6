import {
  AddressesClient, DisksClient, FirewallsClient, GlobalOperationsClient, ImagesClient, InstancesClient, MachineTypesClient, NetworksClient,
  ProjectsClient, RegionOperationsClient, RegionsClient, RoutersClient, RoutesClient, SubnetworksClient, ZoneOperationsClient, ZonesClient,
} from '@google-cloud/compute';
import { computeClientOptions } from '@skyweave/cloud-adapters/src/gcp/gcp-client';
import { check } from './types';
import type { CloudFixture, FidelityCheck } from './types';

/**
 * GCP's checks of the fidelity suite (test/fidelity/main.ts): Compute Engine v1 common reads and error edge cases
 * through the official `@google-cloud/compute` clients (REST transport, as Skyweave's adapter makes them), against
 * the REST reference (https://cloud.google.com/compute/docs/reference/rest/v1).
 */

const REF = 'https://cloud.google.com/compute/docs/reference/rest/v1';
const API = 'https://www.googleapis.com/compute/v1/';

function creds(f: CloudFixture) {
  if (f.credentials.cloud !== 'gcp') throw new Error('expected gcp credentials');
  return f.credentials.gcp;
}
const opts = (f: CloudFixture) => computeClientOptions(creds(f), f.endpoints);
const project = (f: CloudFixture) => creds(f).project_id;
/** The worker's instance name (the adapter's Instance.id may carry its zone). */
const vmName = (f: CloudFixture) => f.instance.name;
const lastSegment = (s: string | null | undefined) => String(s ?? '').split('/').pop() ?? '';
/** Call options of the *Async iterators: they page on demand (gax warns unless autoPaginate is off). */
const PAGED = { autoPaginate: false };
const PACIFIC_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]:00$/;

/** Runs `fn`, which must fail: returns Google's error body (status, reason, message) as the client surfaces it. */
async function failure(fn: () => Promise<unknown>): Promise<{ status: number; reason: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    const x = e as { code?: unknown; message?: string; response?: { status?: number; data?: unknown } };
    let body: { error?: { code?: number; message?: string; errors?: { reason?: string }[] } } | undefined;
    if (x.response?.data && typeof x.response.data === 'object') body = x.response.data as typeof body;
    else {
      try {
        body = JSON.parse(String(x.message)) as typeof body;
      } catch {
        body = undefined;
      }
    }
    return { status: Number(body?.error?.code ?? x.response?.status ?? x.code), reason: String(body?.error?.errors?.[0]?.reason ?? ''), message: String(body?.error?.message ?? x.message) };
  }
  throw new Error('the call succeeded; an error was expected');
}

function expectError(got: { status: number; reason: string; message: string }, status: number, reason: string, message?: RegExp | string): void {
  check(got.status === status, `HTTP ${got.status}, expected ${status} (${got.message})`);
  check(got.reason === reason, `reason ${got.reason}, expected ${reason} (${got.message})`);
  if (message !== undefined) {
    const ok = typeof message === 'string' ? got.message === message : message.test(got.message);
    check(ok, `message ${JSON.stringify(got.message)} does not match ${String(message)}`);
  }
}

const read = (operation: string, path: string, run: (f: CloudFixture) => Promise<void>): FidelityCheck => ({ kind: 'read', operation, reference: `${REF}/${path}`, run });
const error = (operation: string, kase: string, path: string, run: (f: CloudFixture) => Promise<void>): FidelityCheck => ({ kind: 'error', operation, case: kase, reference: `${REF}/${path}`, run });

export const checks: FidelityCheck[] = [
  // ---- catalogue ----
  read('regions.list', 'regions/list', async (f) => {
    const [regions] = await new RegionsClient(opts(f)).list({ project: project(f) });
    check(regions.length >= 40, `${regions.length} regions, expected the 40+ public ones`);
    const r = regions.find((x) => x.name === f.region);
    check(r?.kind === 'compute#region' && r.status === 'UP', `${f.region} missing or not UP`);
    check(r.selfLink === `${API}projects/${project(f)}/regions/${f.region}`, `selfLink ${r.selfLink}`);
    check((r.zones ?? []).some((z) => z.endsWith(`/zones/${f.zone}`)), `${f.region} does not name ${f.zone}`);
    check((r.quotas ?? []).some((q) => q.metric === 'CPUS'), 'no CPUS quota');
    const page = await new RegionsClient(opts(f)).list({ project: project(f), maxResults: 5 }, { autoPaginate: false });
    check(page[0].length === 5 && !!page[2]?.nextPageToken, 'maxResults=5 did not page');
  }),
  read('regions.get', 'regions/get', async (f) => {
    const [r] = await new RegionsClient(opts(f)).get({ project: project(f), region: 'europe-west4' });
    check(r.kind === 'compute#region' && r.name === 'europe-west4' && (r.zones ?? []).length === 3, 'europe-west4 not as documented');
  }),
  read('zones.list', 'zones/list', async (f) => {
    const [zones] = await new ZonesClient(opts(f)).list({ project: project(f) });
    check(zones.length >= 120, `${zones.length} zones`);
    const [filtered] = await new ZonesClient(opts(f)).list({ project: project(f), filter: 'name = "us-central1-*"' });
    check(filtered.map((z) => z.name).join(',') === 'us-central1-a,us-central1-b,us-central1-c,us-central1-f', `filter gave ${filtered.map((z) => z.name).join(',')}`);
  }),
  read('zones.get', 'zones/get', async (f) => {
    const [z] = await new ZonesClient(opts(f)).get({ project: project(f), zone: f.zone });
    check(z.kind === 'compute#zone' && z.name === f.zone && z.status === 'UP', 'zone not as documented');
    check(z.region === `${API}projects/${project(f)}/regions/${f.region}`, `region ${z.region}`);
  }),
  read('machineTypes.list', 'machineTypes/list', async (f) => {
    const [types] = await new MachineTypesClient(opts(f)).list({ project: project(f), zone: f.zone });
    check(types.length >= 50, `${types.length} machine types`);
    for (const fam of ['e2', 'n2', 'n2d', 'c3', 't2a', 't2d', 'n4']) check(types.some((t) => t.name?.startsWith(`${fam}-`)), `no ${fam} types`);
    const arm = types.find((t) => t.name === 't2a-standard-4');
    check(arm?.architecture === 'ARM64' && arm.guestCpus === 4 && arm.memoryMb === 16384, 't2a-standard-4 not ARM64 / 4 vCPU / 16384 MB');
    check(types.find((t) => t.name === 'e2-micro')?.isSharedCpu === true, 'e2-micro not shared-core');
    const [small] = await new MachineTypesClient(opts(f)).list({ project: project(f), zone: f.zone, filter: 'guestCpus = 2' });
    check(small.length > 0 && small.every((t) => t.guestCpus === 2), 'filter guestCpus = 2 not applied');
  }),
  read('machineTypes.get', 'machineTypes/get', async (f) => {
    const [t] = await new MachineTypesClient(opts(f)).get({ project: project(f), zone: f.zone, machineType: 'n2-standard-4' });
    check(t.kind === 'compute#machineType' && t.guestCpus === 4 && t.memoryMb === 16384 && t.architecture === 'X86_64', 'n2-standard-4 not as documented');
    check(t.selfLink === `${API}projects/${project(f)}/zones/${f.zone}/machineTypes/n2-standard-4` && t.zone === f.zone, `selfLink ${t.selfLink} / zone ${t.zone}`);
  }),
  read('machineTypes.aggregatedList', 'machineTypes/aggregatedList', async (f) => {
    const scopes: string[] = [];
    let n = 0;
    for await (const [scope, list] of new MachineTypesClient(opts(f)).aggregatedListAsync({ project: project(f), filter: 'name = "e2-standard-2"' }, PAGED)) {
      scopes.push(scope);
      n += (list.machineTypes ?? []).length;
    }
    check(scopes.includes(`zones/${f.zone}`) && n >= 120, `${n} e2-standard-2 in ${scopes.length} scopes`);
  }),
  read('images.getFromFamily', 'images/getFromFamily', async (f) => {
    const [img] = await new ImagesClient(opts(f)).getFromFamily({ project: 'ubuntu-os-cloud', family: 'ubuntu-2404-lts-arm64' });
    check(img.kind === 'compute#image' && img.family === 'ubuntu-2404-lts-arm64' && img.architecture === 'ARM64' && img.status === 'READY', 'arm64 family image not as documented');
    check(!img.deprecated, 'getFromFamily returned a deprecated image');
    check(img.selfLink === `${API}projects/ubuntu-os-cloud/global/images/${img.name}`, `selfLink ${img.selfLink}`);
    const [amd] = await new ImagesClient(opts(f)).getFromFamily({ project: 'ubuntu-os-cloud', family: 'ubuntu-2404-lts-amd64' });
    check(amd.architecture === 'X86_64' && /^ubuntu-2404-noble-amd64-v\d{8}$/.test(String(amd.name)), `amd64 image ${amd.name}`);
  }),
  read('images.list', 'images/list', async (f) => {
    const [imgs] = await new ImagesClient(opts(f)).list({ project: 'ubuntu-os-cloud' });
    const families = new Set(imgs.map((i) => i.family));
    for (const fam of ['ubuntu-2404-lts-amd64', 'ubuntu-2404-lts-arm64', 'ubuntu-2204-lts', 'ubuntu-2204-lts-arm64']) check(families.has(fam), `no ${fam}`);
    check(imgs.some((i) => i.deprecated?.state === 'DEPRECATED' && !!i.deprecated.replacement), 'no deprecated image with a replacement');
    const [arm] = await new ImagesClient(opts(f)).list({ project: 'ubuntu-os-cloud', filter: 'architecture = "ARM64"' });
    check(arm.length > 0 && arm.every((i) => i.architecture === 'ARM64'), 'architecture filter not applied');
  }),

  read('images.get', 'images/get', async (f) => {
    const [fam] = await new ImagesClient(opts(f)).getFromFamily({ project: 'ubuntu-os-cloud', family: 'ubuntu-2204-lts' });
    const [img] = await new ImagesClient(opts(f)).get({ project: 'ubuntu-os-cloud', image: String(fam.name) });
    check(img.id === fam.id && img.kind === 'compute#image' && img.architecture === 'X86_64' && Number(img.diskSizeGb) === 10, 'image not as documented');
  }),
  read('projects.get', 'projects/get', async (f) => {
    const [p] = await new ProjectsClient(opts(f)).get({ project: project(f) });
    check(p.kind === 'compute#project' && p.name === project(f) && p.selfLink === `${API}projects/${project(f)}`, `project ${p.name} ${p.selfLink}`);
    check(/-compute@developer\.gserviceaccount\.com$/.test(String(p.defaultServiceAccount)), `defaultServiceAccount ${p.defaultServiceAccount}`);
  }),
  // ---- the worker and what it references ----
  read('instances.get', 'instances/get', async (f) => {
    const [vm] = await new InstancesClient(opts(f)).get({ project: project(f), zone: f.zone, instance: vmName(f) });
    check(vm.kind === 'compute#instance' && vm.status === 'RUNNING', `status ${vm.status}`);
    check(PACIFIC_TS.test(String(vm.creationTimestamp)), `creationTimestamp ${vm.creationTimestamp}`);
    check(vm.selfLink === `${API}projects/${project(f)}/zones/${f.zone}/instances/${vmName(f)}`, `selfLink ${vm.selfLink}`);
  }),
  read('instances.aggregatedList', 'instances/aggregatedList', async (f) => {
    const found: string[] = [];
    for await (const [, list] of new InstancesClient(opts(f)).aggregatedListAsync({ project: project(f), filter: `name = "${vmName(f)}"` }, PAGED)) for (const i of list.instances ?? []) found.push(String(i.name));
    check(found.length === 1 && found[0] === vmName(f), `found ${found.join(',')}`);
  }),
  read('disks.get', 'disks/get', async (f) => {
    const [vm] = await new InstancesClient(opts(f)).get({ project: project(f), zone: f.zone, instance: vmName(f) });
    const source = String(vm.disks?.[0]?.source);
    const [d] = await new DisksClient(opts(f)).get({ project: project(f), zone: f.zone, disk: lastSegment(source) });
    check(d.kind === 'compute#disk' && d.selfLink === source && d.status === 'READY', `disk ${d.selfLink} ${d.status}`);
    check((d.users ?? []).includes(String(vm.selfLink)), 'disk users do not name the instance');
    check(/\/projects\/ubuntu-os-cloud\/global\/images\/ubuntu-2404-noble-amd64-v\d{8}$/.test(String(d.sourceImage)), `sourceImage ${d.sourceImage}`);
    check(Number(d.sizeGb) >= 10 && d.architecture === 'X86_64' && /\/diskTypes\/pd-/.test(String(d.type)), 'size/architecture/type');
  }),
  read('disks.list', 'disks/list', async (f) => {
    const [disks] = await new DisksClient(opts(f)).list({ project: project(f), zone: f.zone });
    check(disks.length === 1 && (disks[0].users ?? [])[0]?.endsWith(`/instances/${vmName(f)}`), `${disks.length} disks`);
  }),
  read('disks.aggregatedList', 'disks/aggregatedList', async (f) => {
    let n = 0;
    for await (const [scope, list] of new DisksClient(opts(f)).aggregatedListAsync({ project: project(f) }, PAGED)) if (scope === `zones/${f.zone}`) n += (list.disks ?? []).length;
    check(n === 1, `${n} disks in zones/${f.zone}`);
  }),
  read('instances.getSerialPortOutput', 'instances/getSerialPortOutput', async (f) => {
    const [out] = await new InstancesClient(opts(f)).getSerialPortOutput({ project: project(f), zone: f.zone, instance: vmName(f) });
    check(out.kind === 'compute#serialPortOutput' && String(out.contents).includes('RUNNING'), 'no boot log');
    check(Number(out.next) === Buffer.byteLength(String(out.contents)) && Number(out.start) === 0, `start ${out.start} next ${out.next}`);
    const [tail] = await new InstancesClient(opts(f)).getSerialPortOutput({ project: project(f), zone: f.zone, instance: vmName(f), start: out.next });
    check(tail.contents === '' && tail.start === out.next, 'reading from next was not empty');
  }),
  read('networks.list', 'networks/list', async (f) => {
    const [nets] = await new NetworksClient(opts(f)).list({ project: project(f) });
    const names = nets.map((n) => n.name);
    check(names.includes('default') && names.includes(lastSegment(f.network.vpcId)), `networks ${names.join(',')}`);
    const def = nets.find((n) => n.name === 'default');
    check(def?.autoCreateSubnetworks === true && (def.subnetworks ?? []).length >= 40, 'default network not auto mode with a subnet per region');
  }),
  read('networks.get', 'networks/get', async (f) => {
    const [n] = await new NetworksClient(opts(f)).get({ project: project(f), network: lastSegment(f.network.vpcId) });
    check(n.kind === 'compute#network' && n.autoCreateSubnetworks === false && n.routingConfig?.routingMode === 'REGIONAL', 'network not as the adapter made it');
    check((n.subnetworks ?? []).some((s) => s.endsWith(`/regions/${f.region}/subnetworks/${lastSegment(f.network.subnetId)}`)), 'network does not name its subnetwork');
    check(PACIFIC_TS.test(String(n.creationTimestamp)), `creationTimestamp ${n.creationTimestamp}`);
  }),
  read('subnetworks.list', 'subnetworks/list', async (f) => {
    const [subs] = await new SubnetworksClient(opts(f)).list({ project: project(f), region: f.region });
    const names = subs.map((s) => s.name).sort();
    check(names.includes('default') && names.includes(lastSegment(f.network.subnetId)), `subnetworks ${names.join(',')}`);
    check(subs.every((s) => s.kind === 'compute#subnetwork' && String(s.region).endsWith(`/regions/${f.region}`)), 'kind/region');
  }),
  read('instances.list', 'instances/list', async (f) => {
    const [vms] = await new InstancesClient(opts(f)).list({ project: project(f), zone: f.zone, filter: 'labels.skyweave-cluster:*' });
    check(vms.length === 1 && vms[0].name === vmName(f) && vms[0].labels?.['skyweave-cluster'] === f.clusterId, `instances ${vms.map((v) => v.name).join(',')}`);
  }),
  read('subnetworks.aggregatedList', 'subnetworks/aggregatedList', async (f) => {
    const byScope = new Map<string, string[]>();
    for await (const [scope, list] of new SubnetworksClient(opts(f)).aggregatedListAsync({ project: project(f) }, PAGED)) byScope.set(scope, (list.subnetworks ?? []).map((s) => String(s.ipCidrRange)));
    check(byScope.size >= 40, `${byScope.size} scopes`);
    check(byScope.get('regions/us-central1')?.includes('10.128.0.0/20') === true, 'default subnet of us-central1 is not 10.128.0.0/20');
    check(byScope.get(`regions/${f.region}`)?.includes(f.network.subnetCidr) === true, 'the cluster subnet is missing');
  }),
  read('firewalls.list', 'firewalls/list', async (f) => {
    const [fws] = await new FirewallsClient(opts(f)).list({ project: project(f), filter: 'name = "default-allow-*"' });
    check(fws.map((x) => x.name).join(',') === 'default-allow-icmp,default-allow-internal,default-allow-rdp,default-allow-ssh', `default rules ${fws.map((x) => x.name).join(',')}`);
    check(fws.find((x) => x.name === 'default-allow-internal')?.sourceRanges?.[0] === '10.128.0.0/9', 'default-allow-internal source');
  }),
  read('addresses.list', 'addresses/list', async (f) => {
    const [addrs] = await new AddressesClient(opts(f)).list({ project: project(f), region: f.region });
    check(Array.isArray(addrs) && addrs.length === 0, `${addrs.length} addresses`);
  }),
  read('addresses.aggregatedList', 'addresses/aggregatedList', async (f) => {
    const scopes: string[] = [];
    for await (const [scope] of new AddressesClient(opts(f)).aggregatedListAsync({ project: project(f) }, PAGED)) scopes.push(scope);
    check(scopes.length === 0 || scopes.every((s) => s.startsWith('regions/')), `scopes ${scopes.slice(0, 3).join(',')}`);
  }),
  read('routes.list', 'routes/list', async (f) => {
    const [routes] = await new RoutesClient(opts(f)).list({ project: project(f) });
    const mine = routes.filter((r) => lastSegment(r.network) === lastSegment(f.network.vpcId));
    check(mine.some((r) => r.destRange === '0.0.0.0/0' && String(r.nextHopGateway).endsWith('/global/gateways/default-internet-gateway')), 'no default internet route');
    check(mine.some((r) => r.destRange === f.network.subnetCidr && r.routeType === 'SUBNET'), 'no subnet route');
    check(routes.every((r) => r.kind === 'compute#route' && /^default-route-[0-9a-f]{16}$/.test(String(r.name))), 'route names');
  }),
  read('routers.list', 'routers/list', async (f) => {
    const [routers] = await new RoutersClient(opts(f)).list({ project: project(f), region: f.region });
    check(routers.length === 0, `${routers.length} routers`);
  }),
  read('zoneOperations.list', 'zoneOperations/list', async (f) => {
    const [ops] = await new ZoneOperationsClient(opts(f)).list({ project: project(f), zone: f.zone });
    const insert = ops.find((o) => o.operationType === 'insert' && lastSegment(o.targetLink) === vmName(f));
    check(insert?.kind === 'compute#operation' && insert.status === 'DONE' && PACIFIC_TS.test(String(insert.insertTime)), 'no DONE insert of the worker');
  }),
  read('regionOperations.list', 'regionOperations/list', async (f) => {
    const [ops] = await new RegionOperationsClient(opts(f)).list({ project: project(f), region: f.region });
    check(ops.some((o) => o.operationType === 'insert' && String(o.targetLink).includes('/subnetworks/')), 'no subnetwork insert');
  }),
  read('globalOperations.list', 'globalOperations/list', async (f) => {
    const [ops] = await new GlobalOperationsClient(opts(f)).list({ project: project(f) });
    check(ops.some((o) => o.operationType === 'insert' && String(o.targetLink).endsWith(`/global/networks/${lastSegment(f.network.vpcId)}`)), 'no network insert');
    check(ops.filter((o) => String(o.targetLink).includes('/global/firewalls/')).length >= 1, 'no firewall insert');
  }),

  // ---- error edge cases ----
  error('instances.get', 'unknown instance', 'instances/get', async (f) => {
    const e = await failure(() => new InstancesClient(opts(f)).get({ project: project(f), zone: f.zone, instance: 'no-such-vm' }));
    expectError(e, 404, 'notFound', `The resource 'projects/${project(f)}/zones/${f.zone}/instances/no-such-vm' was not found`);
  }),
  error('networks.insert', 'a second network of the same name', 'networks/insert', async (f) => {
    const e = await failure(() => new NetworksClient(opts(f)).insert({ project: project(f), networkResource: { name: lastSegment(f.network.vpcId), autoCreateSubnetworks: false } }));
    expectError(e, 409, 'alreadyExists', `The resource 'projects/${project(f)}/global/networks/${lastSegment(f.network.vpcId)}' already exists`);
  }),
  error('networks.insert', 'invalid name', 'networks/insert', async (f) => {
    const e = await failure(() => new NetworksClient(opts(f)).insert({ project: project(f), networkResource: { name: 'Bad_Name', autoCreateSubnetworks: false } }));
    expectError(e, 400, 'invalid', /^Invalid value for field 'resource\.name': 'Bad_Name'\. Must be a match of regex/);
  }),
  error('subnetworks.insert', 'range overlapping a subnetwork of the network', 'subnetworks/insert', async (f) => {
    const e = await failure(() => new SubnetworksClient(opts(f)).insert({
      project: project(f), region: f.region,
      subnetworkResource: { name: 'overlap', network: `projects/${project(f)}/global/networks/${lastSegment(f.network.vpcId)}`, ipCidrRange: f.network.subnetCidr },
    }));
    expectError(e, 400, 'invalid', /^Invalid IPCidrRange: .* conflicts with existing subnetwork/);
  }),
  error('firewalls.insert', 'port out of range', 'firewalls/insert', async (f) => {
    const e = await failure(() => new FirewallsClient(opts(f)).insert({
      project: project(f),
      firewallResource: { name: 'bad-port', network: `projects/${project(f)}/global/networks/${lastSegment(f.network.vpcId)}`, allowed: [{ IPProtocol: 'tcp', ports: ['70000'] }], sourceRanges: ['0.0.0.0/0'] },
    }));
    expectError(e, 400, 'invalid', /^Invalid value for field 'resource\.allowed\[0\]\.ports\[0\]': '70000'/);
  }),
  error('networks.delete', 'network still used by firewalls, subnetworks and an instance', 'networks/delete', async (f) => {
    const e = await failure(() => new NetworksClient(opts(f)).delete({ project: project(f), network: lastSegment(f.network.vpcId) }));
    expectError(e, 400, 'resourceInUseByAnotherResource', new RegExp(`^The network resource 'projects/${project(f)}/global/networks/${lastSegment(f.network.vpcId)}' is already being used by 'projects/${project(f)}/`));
  }),
  error('machineTypes.get', 'unknown machine type', 'machineTypes/get', async (f) => {
    const e = await failure(() => new MachineTypesClient(opts(f)).get({ project: project(f), zone: f.zone, machineType: 'n9-mega-1024' }));
    expectError(e, 404, 'notFound', `The resource 'projects/${project(f)}/zones/${f.zone}/machineTypes/n9-mega-1024' was not found`);
  }),
  error('images.getFromFamily', 'unknown family', 'images/getFromFamily', async (f) => {
    const e = await failure(() => new ImagesClient(opts(f)).getFromFamily({ project: 'ubuntu-os-cloud', family: 'ubuntu-9999-lts' }));
    expectError(e, 404, 'notFound', "The resource 'projects/ubuntu-os-cloud/global/images/family/ubuntu-9999-lts' was not found");
  }),
  error('disks.get', 'unknown disk', 'disks/get', async (f) => {
    const e = await failure(() => new DisksClient(opts(f)).get({ project: project(f), zone: f.zone, disk: 'no-such-disk' }));
    expectError(e, 404, 'notFound', `The resource 'projects/${project(f)}/zones/${f.zone}/disks/no-such-disk' was not found`);
  }),
  error('zones.get', 'unknown zone', 'zones/get', async (f) => {
    const e = await failure(() => new ZonesClient(opts(f)).get({ project: project(f), zone: 'mars-north1-a' }));
    expectError(e, 404, 'notFound', `The resource 'projects/${project(f)}/zones/mars-north1-a' was not found`);
  }),
  error('instances.insert', 'unknown machine type', 'instances/insert', async (f) => {
    const e = await failure(() => new InstancesClient(opts(f)).insert({
      project: project(f), zone: f.zone,
      instanceResource: {
        name: 'bad-type', machineType: `zones/${f.zone}/machineTypes/n9-mega-1024`,
        disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64' } }],
        networkInterfaces: [{ network: 'global/networks/default' }],
      },
    }));
    expectError(e, 400, 'invalid', /^Invalid value for field 'resource\.machineType': .*Machine type with name 'n9-mega-1024' does not exist in zone/);
  }),
  error('instances.insert', 'x86_64 image on an Arm machine type', 'instances/insert', async (f) => {
    const e = await failure(() => new InstancesClient(opts(f)).insert({
      project: project(f), zone: f.zone,
      instanceResource: {
        name: 'arm-on-x86', machineType: `zones/${f.zone}/machineTypes/t2a-standard-2`,
        disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64' } }],
        networkInterfaces: [{ network: 'global/networks/default' }],
      },
    }));
    expectError(e, 400, 'invalid', "Invalid resource usage: 'Requested boot disk architecture (X86_64) is not compatible with machine type architecture (ARM64).'.");
  }),
  error('regions.get', 'unknown region', 'regions/get', async (f) => {
    const e = await failure(() => new RegionsClient(opts(f)).get({ project: project(f), region: 'mars-north1' }));
    expectError(e, 404, 'notFound', `The resource 'projects/${project(f)}/regions/mars-north1' was not found`);
  }),
  error('subnetworks.list', 'unknown region in the path', 'subnetworks/list', async (f) => {
    const e = await failure(() => new SubnetworksClient(opts(f)).list({ project: project(f), region: 'mars-north1' }, { autoPaginate: false }));
    expectError(e, 400, 'invalid', "Invalid value for field 'region': 'mars-north1'. Unknown region.");
  }),
  error('instances.list', 'maxResults over 500', 'instances/list', async (f) => {
    const e = await failure(() => new InstancesClient(opts(f)).list({ project: project(f), zone: f.zone, maxResults: 501 }, { autoPaginate: false }));
    expectError(e, 400, 'invalid', "Invalid value for field 'maxResults': '501'. Must be less than or equal to 500.");
  }),
  error('firewalls.insert', 'a second rule of the same name', 'firewalls/insert', async (f) => {
    const e = await failure(() => new FirewallsClient(opts(f)).insert({
      project: project(f), firewallResource: { name: 'default-allow-ssh', network: 'global/networks/default', allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] },
    }));
    expectError(e, 409, 'alreadyExists', `The resource 'projects/${project(f)}/global/firewalls/default-allow-ssh' already exists`);
  }),
];
