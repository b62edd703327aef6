import { ArmError, resourceGroupNotFound } from './arm-error';
import { Call, Env, Reply, armTime, computeTime, eqi, groupId, page, seen } from './common';
import { ArmOperationTable, read } from './context';
import { renderDiskGeneric } from './disks';
import { isTagFilter, matchesFilter, parseListFilter } from './filter';
import { networkInUse } from './network-common';
import { ARM_TYPES, Operation, Resource, ResourceGroup, provisioningState } from './state';
import { LOCATIONS, LOCATION_DISPLAY_NAMES, checkResourceGroupName, isObject, normaliseLocation, parseTags, requireBody } from './validate';

/**
 * The ARM core (Microsoft.Resources): subscriptions, resource groups, the generic resource list, and the monitors of
 * long-running operations (resource group deletion, the Network and Compute RPs' Azure-AsyncOperation / Location).
 */

// ---------------------------------------------------------------------------------------------------------------------
// Resource groups — https://learn.microsoft.com/rest/api/resources/resource-groups
// ---------------------------------------------------------------------------------------------------------------------

function renderGroup(g: ResourceGroup): Record<string, unknown> {
  return {
    id: groupId(g),
    name: g.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: g.location,
    ...(Object.keys(g.tags).length ? { tags: { ...g.tags } } : {}),
    properties: { provisioningState: g.deleting ? 'Deleting' : 'Succeeded' },
  };
}

function putGroup(env: Env, call: Call, name: string): Reply {
  checkResourceGroupName(name);
  const body = requireBody(call.body);
  const sub = call.account.subscriptionId;
  const l = body.location;
  if (l === undefined || l === null || l === '') throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (typeof l !== 'string') throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'location' must be a string.");
  const location = normaliseLocation(l);
  if (!(LOCATIONS as readonly string[]).includes(location)) {
    throw new ArmError(400, 'LocationNotAvailableForResourceGroup', `The provided location '${l}' is not available for resource group. List of available regions is '${LOCATIONS.join(',')}'.`);
  }
  const tags = parseTags(body.tags);
  const existing = env.state.group(sub, name);
  if (existing?.deleting) {
    throw new ArmError(409, 'ResourceGroupBeingDeleted', `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`);
  }
  if (existing) {
    if (existing.location !== location) {
      throw new ArmError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${l}'. The Resource group already exists in location '${existing.location}'.`);
    }
    existing.tags = tags;
    return { status: 200, body: renderGroup(existing) };
  }
  const g: ResourceGroup = { subscriptionId: sub, name, location, tags, createdAt: call.now, createdAtMs: call.clock };
  env.state.putGroup(g);
  return { status: 201, body: renderGroup(g) };
}

/** Resources of `g` referenced by something outside it (which an RG delete may therefore not remove). */
function blockedBy(env: Env, g: ResourceGroup): Set<Resource> {
  const members = env.state.inGroup(g.subscriptionId, g.name);
  const inside = new Map(members.map((r) => [r.id.toLowerCase(), r]));
  const refs = (r: Resource): (string | undefined)[] => {
    switch (r.kind) {
      case 'nic': return [r.nsgId, ...r.ipConfigs.flatMap((c) => [c.subnetId, c.publicIpId])];
      case 'vm': return [...r.nics.map((n) => n.id), r.osDisk.id];
      case 'subnet': return [r.nsgId, r.vnetId];
      default: return [];
    }
  };
  const blocked = new Set<Resource>();
  const survivors: Resource[] = env.state.inSubscription(g.subscriptionId).filter((r) => !inside.has(r.id.toLowerCase()));
  while (survivors.length) {
    const s = survivors.pop() as Resource;
    for (const ref of refs(s)) {
      const hit = ref ? inside.get(ref.toLowerCase()) : undefined;
      if (hit && !blocked.has(hit)) {
        blocked.add(hit);
        survivors.push(hit);
      }
    }
  }
  return blocked;
}

function finishGroupDelete(env: Env, g: ResourceGroup, op: Operation): void {
  if (env.state.group(g.subscriptionId, g.name) !== g) return;
  const blocked = blockedBy(env, g);
  for (const r of env.state.inGroup(g.subscriptionId, g.name)) {
    if (blocked.has(r)) continue;
    if (r.kind === 'vm') env.ctx.vms.stop(r.id);
    env.state.remove(r);
  }
  if (!blocked.size) {
    env.state.removeGroup(g);
    return;
  }
  for (const r of blocked) {
    r.deleting = false;
    r.busy = undefined;
  }
  g.deleting = undefined;
  const first = [...blocked].find((r) => r.kind !== 'vnet') ?? [...blocked][0];
  const why = networkInUse(env, first);
  op.error = {
    status: 409,
    code: why?.code ?? 'ResourceGroupDeletionBlocked',
    message: why?.message ?? `Deletion of resource group '${g.name}' failed as resources with identifiers '${[...blocked].map((r) => r.id).join(',')}' could not be deleted.`,
  };
}

const operationToken = (op: Operation, location: string): string =>
  Buffer.from(JSON.stringify({ jobId: `ResourceGroupDeletionJob-${op.id}`, jobLocation: location })).toString('base64url');

function groupOperationUrl(call: Call, op: Operation, location: string): string {
  return `${call.base}/subscriptions/${call.account.subscriptionId}/operationresults/${operationToken(op, location)}?api-version=${call.apiVersion}`;
}

function deleteGroup(env: Env, call: Call, g: ResourceGroup): Reply {
  if (g.deleting) {
    const op = env.state.operations.get(g.deleting.opId);
    if (op) return { status: 202, headers: { Location: groupOperationUrl(call, op, g.location) } };
  }
  const members = env.state.inGroup(g.subscriptionId, g.name);
  const duration = env.ctx.latencyMs('network.delete') + (members.some((r) => r.kind === 'vm') ? env.ctx.latencyMs('instance.delete') : 0);
  const op = env.state.newOperation(g.subscriptionId, duration, call.now);
  g.deleting = { opId: op.id };
  for (const r of members) {
    r.deleting = true;
    r.busy = { state: 'Deleting', until: op.doneAt };
    if (r.kind === 'vm') env.ctx.vms.stop(r.id);
  }
  env.state.scheduler.schedule(op.doneAt, () => finishGroupDelete(env, g, op));
  return { status: 202, headers: { Location: groupOperationUrl(call, op, g.location) } };
}

/** `/subscriptions/{sub}/resourcegroups/{rg}` — PUT (sync), GET, HEAD, PATCH (tags), DELETE (202 + Location). */
export async function handleGroup(env: Env, call: Call, name: string): Promise<Reply> {
  const g = env.state.group(call.account.subscriptionId, name);
  switch (call.method) {
    case 'PUT':
      return putGroup(env, call, name);
    case 'GET':
      await env.ctx.delay('read');
      if (!g || !seen(env, g)) throw resourceGroupNotFound(name);
      return { status: 200, body: renderGroup(g) };
    case 'HEAD':
      await env.ctx.delay('read');
      return { status: g && seen(env, g) ? 204 : 404 };
    case 'PATCH': {
      if (!g) throw resourceGroupNotFound(name);
      const body = requireBody(call.body);
      if (body.tags !== undefined) g.tags = parseTags(body.tags);
      return { status: 200, body: renderGroup(g) };
    }
    case 'DELETE':
      if (!g) throw resourceGroupNotFound(name);
      return deleteGroup(env, call, g);
    default:
      throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
  }
}

/** `GET /subscriptions/{sub}/resourcegroups[?$filter=tagName eq … and tagValue eq …]`. */
export async function listGroups(env: Env, call: Call): Promise<Reply> {
  const filter = call.query.$filter !== undefined ? parseListFilter(call.query.$filter, 'resourceGroups') : undefined;
  await env.ctx.delay('read');
  const sub = call.account.subscriptionId;
  const groups = [...env.state.groups.values()]
    .filter((g) => eqi(g.subscriptionId, sub) && seen(env, g))
    .filter((g) => !filter || matchesFilter(filter, { name: g.name, type: 'Microsoft.Resources/resourceGroups', location: g.location, resourceGroup: g.name, tags: g.tags }));
  return page(call, `/subscriptions/${sub}/resourcegroups`, groups.map(renderGroup));
}

// ---------------------------------------------------------------------------------------------------------------------
// Generic listing — https://learn.microsoft.com/rest/api/resources/resources/list
// ---------------------------------------------------------------------------------------------------------------------

const TOP_LEVEL: Resource['kind'][] = ['vnet', 'nsg', 'pip', 'nic', 'vm', 'disk'];

function renderGeneric(r: Resource, withTags: boolean, expand: Set<string>, now: number): Record<string, unknown> {
  const base: Record<string, unknown> = r.kind === 'disk'
    ? renderDiskGeneric(r)
    : {
      id: r.id,
      name: r.name,
      type: ARM_TYPES[r.kind],
      ...(r.kind === 'pip' ? { sku: { ...r.sku } } : {}),
      ...((r.kind === 'pip' || r.kind === 'vm') && r.zones ? { zones: [...r.zones] } : {}),
      location: r.location,
      ...(Object.keys(r.tags).length ? { tags: { ...r.tags } } : {}),
    };
  if (!withTags) delete base.tags;
  if (expand.has('createdtime')) base.createdTime = armTime(r.createdAt);
  if (expand.has('changedtime')) base.changedTime = armTime(r.createdAt);
  if (expand.has('provisioningstate')) base.provisioningState = provisioningState(r, now);
  return base;
}

/** `GET /subscriptions/{sub}[/resourceGroups/{rg}]/resources[?$filter&$top&$expand]`. */
export async function listResources(env: Env, call: Call, rg?: string): Promise<Reply> {
  const sub = call.account.subscriptionId;
  const filter = call.query.$filter !== undefined ? parseListFilter(call.query.$filter, 'resources') : undefined;
  const expand = new Set((call.query.$expand ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  for (const e of expand) {
    if (!['createdtime', 'changedtime', 'provisioningstate'].includes(e)) {
      throw new ArmError(400, 'InvalidExpandQueryParameter', `The '$expand' query parameter value '${e}' is invalid. The supported values are 'createdTime,changedTime,provisioningState'.`);
    }
  }
  const top = call.query.$top;
  if (top !== undefined && (!/^\d+$/.test(top) || Number(top) < 1 || Number(top) > 1000)) {
    throw new ArmError(400, 'InvalidTopQueryParameter', `The '$top' query parameter value '${top}' is invalid. It must be an integer between 1 and 1000.`);
  }
  let group: ResourceGroup | undefined;
  if (rg !== undefined) {
    group = env.state.group(sub, rg);
    if (!group || !seen(env, group)) throw resourceGroupNotFound(rg);
  }
  await env.ctx.delay('read');
  const items = (group ? env.state.inGroup(sub, group.name) : env.state.inSubscription(sub))
    .filter((r) => TOP_LEVEL.includes(r.kind) && seen(env, r))
    .filter((r) => !filter || matchesFilter(filter, { name: r.name, type: ARM_TYPES[r.kind], location: r.location, resourceGroup: r.resourceGroup, tags: r.tags }));
  const withTags = !isTagFilter(filter);
  const path = group ? `/subscriptions/${sub}/resourceGroups/${group.name}/resources` : `/subscriptions/${sub}/resources`;
  return page(call, path, items.map((r) => renderGeneric(r, withTags, expand, call.now)));
}

// ---------------------------------------------------------------------------------------------------------------------
// Subscriptions — https://learn.microsoft.com/rest/api/resources/subscriptions
// ---------------------------------------------------------------------------------------------------------------------

export function renderSubscription(call: Call): Record<string, unknown> {
  const a = call.account;
  return {
    id: `/subscriptions/${a.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: a.subscriptionId,
    tenantId: a.tenantId,
    displayName: 'Skyweave sandbox subscription',
    state: 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Long-running operation monitors
// ---------------------------------------------------------------------------------------------------------------------

const opNotFound = (id: string) => new ArmError(404, 'NotFound', `The operation '${id}' could not be found.`);

/** `GET /subscriptions/{sub}/operationresults/{token}` — a resource group deletion: 202 while running, then 200. */
export async function groupOperationResult(env: Env, call: Call, token: string): Promise<Reply> {
  await env.ctx.delay('read');
  let opId: string | undefined;
  let location = 'eastus';
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isObject(parsed) && typeof parsed.jobId === 'string') {
      opId = parsed.jobId.replace(/^ResourceGroupDeletionJob-/, '');
      if (typeof parsed.jobLocation === 'string') location = parsed.jobLocation;
    }
  } catch {
    opId = undefined;
  }
  const op = opId ? env.state.operations.get(opId) : undefined;
  if (!op || !eqi(op.subscriptionId, call.account.subscriptionId)) throw opNotFound(token);
  if (call.now < op.doneAt) return { status: 202, headers: { Location: groupOperationUrl(call, op, location) } };
  if (op.error) throw new ArmError(op.error.status, op.error.code, op.error.message);
  return { status: 200 };
}

/**
 * `GET /subscriptions/{sub}/providers/{ns}/locations/{loc}/operations/{id}` (Azure-AsyncOperation: `{"status": …}`) and
 * `…/operationResults/{id}` (Location: 202 while running, then 204 / 200).
 */
export async function rpOperation(env: Env, call: Call, ns: string, id: string, result: boolean): Promise<Reply> {
  await env.ctx.delay('read');
  const op = env.state.operations.get(id);
  if (!op || !eqi(op.subscriptionId, call.account.subscriptionId)) throw opNotFound(id);
  const done = call.now >= op.doneAt;
  const compute = eqi(ns, 'Microsoft.Compute');
  if (result) {
    if (!done) return { status: 202, headers: { Location: `${call.base}${call.url}` } };
    if (op.error) throw new ArmError(op.error.status, op.error.code, op.error.message);
    return { status: compute ? 200 : 204 };
  }
  const status = !done ? 'InProgress' : op.error ? 'Failed' : 'Succeeded';
  const body: Record<string, unknown> = compute
    ? { startTime: computeTime(op.startTime), ...(done ? { endTime: computeTime(op.doneAt) } : {}), status, name: op.id }
    : { status };
  if (done && op.error) body.error = { code: op.error.code, message: op.error.message };
  return { status: 200, body };
}



/** Resource group calls take the group's name from the path. */
const rgName = (p: { rg?: string }): string => p.rg ?? '';

export const RESOURCE_GROUP_OPERATIONS: ArmOperationTable = {
  'LIST Microsoft.Resources/subscriptions': read(async ({ env, call }) => {
    await env.ctx.delay('read');
    return { status: 200, body: { value: [renderSubscription(call)], count: { type: 'Total', value: 1 } } };
  }),
  'GET Microsoft.Resources/subscriptions': read(async ({ env, call }) => {
    await env.ctx.delay('read');
    return { status: 200, body: renderSubscription(call) };
  }),
  /** Subscriptions - List Locations: https://learn.microsoft.com/rest/api/resources/subscriptions/list-locations */
  'LIST Microsoft.Resources/locations': read(async ({ env, call }) => {
    await env.ctx.delay('read');
    const sub = call.account.subscriptionId;
    return {
      status: 200,
      body: {
        value: LOCATIONS.map((l) => ({
          id: `/subscriptions/${sub}/locations/${l}`,
          name: l,
          type: 'Region',
          displayName: LOCATION_DISPLAY_NAMES[l],
          regionalDisplayName: LOCATION_DISPLAY_NAMES[l],
          metadata: { regionType: 'Physical', regionCategory: 'Recommended' },
        })),
      },
    };
  }),
  'LIST Microsoft.Resources/resourceGroups': read(({ env, call }) => listGroups(env, call)),
  'GET Microsoft.Resources/resourceGroups': read(({ env, call, path }) => handleGroup(env, call, rgName(path))),
  'HEAD Microsoft.Resources/resourceGroups': read(({ env, call, path }) => handleGroup(env, call, rgName(path))),
  'PUT Microsoft.Resources/resourceGroups': { op: 'network.create', run: ({ env, call, path }) => handleGroup(env, call, rgName(path)) },
  'PATCH Microsoft.Resources/resourceGroups': { op: 'network.create', run: ({ env, call, path }) => handleGroup(env, call, rgName(path)) },
  'DELETE Microsoft.Resources/resourceGroups': { op: 'network.delete', run: ({ env, call, path }) => handleGroup(env, call, rgName(path)) },
  'LIST Microsoft.Resources/resources': read(({ env, call, path }) => listResources(env, call, path.rg)),
  'GET Microsoft.Resources/operationResults': read(({ env, call, path }) => groupOperationResult(env, call, path.names[0])),
  ...Object.fromEntries(['Microsoft.Network', 'Microsoft.Compute'].flatMap((ns) => [
    [`GET ${ns}/locations/operations`, read(({ env, call, path }) => rpOperation(env, call, ns, path.names[1], false))],
    [`GET ${ns}/locations/operationResults`, read(({ env, call, path }) => rpOperation(env, call, ns, path.names[1], true))],
  ])),
};
