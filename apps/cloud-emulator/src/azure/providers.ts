import { SandboxUnimplemented } from '../core/unimplemented';
import { apiVersionsFor } from './api-versions';
import { SDK_ARM_OPERATIONS } from './arm-operations';
import { Call, Reply, page } from './common';
import { ArmOperationTable, read } from './context';
import { LOCATIONS, LOCATION_DISPLAY_NAMES } from './validate';

/**
 * Providers - List / Get (`GET /subscriptions/{sub}/providers[/{namespace}]`): the resource providers the sandbox
 * emulates, registered, with their resource types (every type of the official SDKs' operations), locations and
 * api-versions. A namespace the sandbox does not emulate answers 501 (it may well exist on Azure).
 * References: https://learn.microsoft.com/rest/api/resources/providers/list, …/providers/get
 */

const NAMESPACES = ['Microsoft.Compute', 'Microsoft.Network', 'Microsoft.Resources'] as const;

/** Resource types of a namespace, from the SDKs' operations (`virtualMachines`, `virtualNetworks/subnets`, `locations/vmSizes` …). */
function resourceTypes(ns: string): { name: string; call: string }[] {
  const byType = new Map<string, string>();
  for (const call of Object.keys(SDK_ARM_OPERATIONS)) {
    const full = call.slice(call.indexOf(' ') + 1);
    if (!full.startsWith(`${ns}/`)) continue;
    const type = full.slice(ns.length + 1);
    if (!byType.has(type)) byType.set(type, call);
  }
  if (ns === 'Microsoft.Resources') for (const t of ['subscriptions', 'resourceGroups', 'resources', 'operationResults']) if (!byType.has(t)) byType.set(t, `GET ${ns}/${t}`);
  return [...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, call]) => ({ name, call }));
}

function renderProvider(call: Call, ns: (typeof NAMESPACES)[number]): Record<string, unknown> {
  const global = ns === 'Microsoft.Resources';
  return {
    id: `/subscriptions/${call.account.subscriptionId}/providers/${ns}`,
    namespace: ns,
    ...(global ? {} : { authorizations: [{ applicationId: ns === 'Microsoft.Compute' ? '60e6cd67-9c8c-4951-9b3c-23c25a2169af' : '2cf9eb86-36b5-49dc-86ae-9a63135dfa8c', roleDefinitionId: 'e4770acb-272e-4dc8-87f3-12f44a612224' }] }),
    resourceTypes: resourceTypes(ns).map((t) => ({
      resourceType: t.name,
      locations: global && !t.name.startsWith('locations') ? [] : LOCATIONS.map((l) => LOCATION_DISPLAY_NAMES[l]),
      apiVersions: apiVersionsFor(t.call, ns, t.name),
      capabilities: 'None',
    })),
    registrationState: 'Registered',
    registrationPolicy: global ? 'RegistrationFree' : 'RegistrationRequired',
  };
}

export const PROVIDER_OPERATIONS: ArmOperationTable = {
  'LIST Microsoft.Resources/providers': read(async ({ env, call, path }) => {
    await env.ctx.delay('read');
    return page(call, path.path, NAMESPACES.map((ns) => renderProvider(call, ns)));
  }),
  'GET Microsoft.Resources/providers': read(async ({ env, call, path }): Promise<Reply> => {
    const ns = NAMESPACES.find((n) => n.toLowerCase() === path.names[0].toLowerCase());
    if (!ns) throw new SandboxUnimplemented('azure', `GET Microsoft.Resources/providers (${path.names[0]})`);
    await env.ctx.delay('read');
    return { status: 200, body: renderProvider(call, ns) };
  }),
};
