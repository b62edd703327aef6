/**
 * ARM request paths → the operation's name, `<METHOD> <resource type>` (core/calls.ts), and the path's parameters.
 *
 * The same function names the operations of the official SDKs' path templates (arm-operations.gen.ts), so a request
 * and the SDK operation it belongs to get the same name: that is how the sandbox tells a real ARM operation it does
 * not serve (501) from a resource type that does not exist (ARM's own 404 `InvalidResourceType`).
 *
 * Naming (paths as in https://learn.microsoft.com/rest/api/azure/#resource-manager-urls):
 * - `/subscriptions[/{sub}]` → `Microsoft.Resources/subscriptions`; `…/resourcegroups[/{rg}]` → `Microsoft.Resources/resourceGroups`;
 *   `…/resources` → `Microsoft.Resources/resources`; `…/operationresults/{token}` → `Microsoft.Resources/operationResults`;
 *   `…/providers[/{ns}]` → `Microsoft.Resources/providers`, `POST …/providers/{ns}/register` → `Microsoft.Resources/providers/register`;
 * - `…/providers/{ns}/{type}[/{name}[/{child}[/{childName}…]]]` (subscription or resource group scope) →
 *   `{ns}/{type}/{child}…` (names left out);
 * - the method is `LIST` for a GET of a collection (a path ending in a type, not a name), except for singleton
 *   children (`virtualMachines/{vm}/instanceView`).
 */

/** The parsed path of an ARM request. */
export interface ArmPath {
  /** `<METHOD> <resource type>` as the path spells it (case as received); look it up case-insensitively. */
  call: string;
  method: string;
  /** The resource provider namespace (`Microsoft.Compute`); `Microsoft.Resources` for the ARM core paths. */
  ns: string;
  /** The resource type without namespace (`virtualMachines`, `virtualNetworks/subnets`, `locations/vmSizes`). */
  type: string;
  sub?: string;
  rg?: string;
  /** Names in the path after the namespace, in order (`[vnetName, subnetName]`, `[location]`, `[location, publisher, …]`). */
  names: string[];
  /** The path itself. */
  path: string;
}

/** Child segments that name one object, not a collection: a GET of them is a GET, not a LIST. */
const SINGLETONS = new Set(['instanceview']);
/** Provider actions at `/subscriptions/{sub}/providers/{ns}/{action}` (Providers - Register …). */
const PROVIDER_ACTIONS = new Set(['register', 'unregister', 'registerathmanagementgroupscope', 'providerpermissions']);

/** Thrown for a path that is no ARM URL at all (ARM answers 404 `NotFound`). */
export class NotArmPath extends Error {}

function provider(method: string, ns: string, rest: string[], base: Omit<ArmPath, 'call' | 'method' | 'ns' | 'type' | 'names'>): ArmPath {
  if (!rest.length) throw new NotArmPath(base.path);
  const types = rest.filter((_, i) => i % 2 === 0);
  const names = rest.filter((_, i) => i % 2 === 1);
  const collection = rest.length % 2 === 1 && !SINGLETONS.has(types[types.length - 1].toLowerCase());
  const m = method === 'GET' && collection ? 'LIST' : method;
  const type = types.join('/');
  return { ...base, call: `${m} ${ns}/${type}`, method, ns, type, names };
}

/**
 * Names an ARM request (or an SDK path template, whose `{placeholders}` stand for names).
 * @param segs the path's segments, decoded
 * @throws NotArmPath when the path is not shaped like an ARM URL
 */
export function parseArmPath(method: string, segs: string[], path: string): ArmPath {
  const l = segs.map((s) => s.toLowerCase());
  const core = (type: string, collection: boolean, extra: Partial<ArmPath> = {}): ArmPath => ({
    call: `${method === 'GET' && collection ? 'LIST' : method} Microsoft.Resources/${type}`, method, ns: 'Microsoft.Resources', type, names: [], path, ...extra,
  });
  if (l[0] === 'providers' && segs.length >= 3) return provider(method, segs[1], segs.slice(2), { path });
  if (l[0] !== 'subscriptions') throw new NotArmPath(path);
  if (segs.length === 1) return core('subscriptions', true);
  const sub = segs[1];
  if (segs.length === 2) return core('subscriptions', false, { sub });
  if (l[2] === 'resourcegroups') {
    if (segs.length === 3) return core('resourceGroups', true, { sub });
    const rg = segs[3];
    if (segs.length === 4) return core('resourceGroups', false, { sub, rg });
    if (segs.length === 5 && l[4] === 'resources') return core('resources', true, { sub, rg });
    if (l[4] === 'providers' && segs.length >= 7) return provider(method, segs[5], segs.slice(6), { sub, rg, path });
    if (segs.length === 5) return core(`resourceGroups/${segs[4]}`, false, { sub, rg });
    throw new NotArmPath(path);
  }
  if (l[2] === 'resources' && segs.length === 3) return core('resources', true, { sub });
  if (l[2] === 'operationresults' && segs.length === 4) return core('operationResults', false, { sub, names: [segs[3]] });
  if (l[2] === 'providers') {
    if (segs.length === 3) return core('providers', true, { sub });
    if (segs.length === 4) return core('providers', false, { sub, names: [segs[3]] });
    if (segs.length === 5 && method === 'POST' && PROVIDER_ACTIONS.has(l[4])) return core(`providers/${segs[4]}`, false, { sub, names: [segs[3]] });
    return provider(method, segs[3], segs.slice(4), { sub, path });
  }
  // Other subscription-level ARM paths (tagNames, locations …): Microsoft.Resources/<types…>.
  const rest = segs.slice(2);
  const types = rest.filter((_, i) => i % 2 === 0);
  return core(types.join('/'), rest.length % 2 === 1, { sub, names: rest.filter((_, i) => i % 2 === 1) });
}

/** Segments of a URL path, decoded. */
export const pathSegments = (pathname: string): string[] => pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
