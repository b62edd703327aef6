import { generateKeyPairSync } from 'node:crypto';
import { FirewallRule, NodeRole, resourcePrefix } from '@skyweave/domain';
import type { InstanceState } from '../cloud-provider';
import { extraRule, firewallDrift } from '../drift';
import { CloudError, CloudErrorKind } from '../errors';

/**
 * Pure helpers of the Azure adapter: resource names, ARM ids, NSG rule conversion, VM state mapping and error
 * classification. Kept free of SDK clients so they can be unit-tested.
 */

/** Names of a cluster's Azure resources, all derived from the cluster id (deterministic ⇒ a repeated PUT adopts). */
export const azureNames = (clusterId: string) => {
  const p = resourcePrefix(clusterId);
  return {
    resourceGroup: `${p}-rg`,
    vnet: `${p}-vnet`,
    subnet: `${p}-nodes`,
    nsg: (role: NodeRole) => `${p}-${role}-nsg`,
  };
};
/** Per-VM resource names. */
export const nicName = (vmName: string): string => `${vmName}-nic`;
export const publicIpName = (vmName: string): string => `${vmName}-pip`;

/** The parts of an ARM resource id (`/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{childType}/{child}]`). */
export interface ArmId {
  subscriptionId: string;
  resourceGroup: string;
  namespace: string;
  type: string;
  name: string;
  child?: { type: string; name: string };
}

/** Parses an ARM resource id; undefined when `id` is not one. Segment keywords are matched case-insensitively, as ARM does. */
export function parseArmId(id: string): ArmId | undefined {
  const s = id.split('/');
  if (s[0] !== '' || s.length < 9 || s[1].toLowerCase() !== 'subscriptions' || s[3].toLowerCase() !== 'resourcegroups' || s[5].toLowerCase() !== 'providers') return undefined;
  if (s.length !== 9 && s.length !== 11) return undefined;
  if (s.some((x, i) => i > 0 && x === '')) return undefined;
  return {
    subscriptionId: s[2],
    resourceGroup: s[4],
    namespace: s[6],
    type: s[7],
    name: s[8],
    ...(s.length === 11 ? { child: { type: s[9], name: s[10] } } : {}),
  };
}

/** ARM ids compare case-insensitively. */
export const sameId = (a: string | undefined, b: string | undefined): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();
/** Azure region names compare ignoring case and spaces (`East US` = `eastus`). */
export const sameRegion = (a: string | undefined, b: string | undefined): boolean =>
  !!a && !!b && a.replace(/\s+/g, '').toLowerCase() === b.replace(/\s+/g, '').toLowerCase();

/** An NSG security rule as the Network SDK models it (the fields this adapter sets and reads). */
export interface NsgRule {
  name?: string;
  description?: string;
  protocol?: string;
  sourcePortRange?: string;
  sourcePortRanges?: string[];
  destinationPortRange?: string;
  destinationPortRanges?: string[];
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  destinationAddressPrefix?: string;
  destinationAddressPrefixes?: string[];
  access?: string;
  priority?: number;
  direction?: string;
}

/** First priority of Skyweave's NSG rules; each further rule takes the next value (100, 101, …). */
export const FIRST_RULE_PRIORITY = 100;

/** Skyweave firewall rules → NSG inbound Allow rules (priorities 100+, any source port, any destination address). */
export function toNsgRules(rules: readonly FirewallRule[]): NsgRule[] {
  return rules.map((r, i) => ({
    name: `allow-${r.protocol}-${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`}`,
    description: r.description,
    protocol: r.protocol === 'tcp' ? 'Tcp' : 'Udp',
    sourcePortRange: '*',
    destinationPortRange: r.fromPort === r.toPort ? String(r.fromPort) : `${r.fromPort}-${r.toPort}`,
    sourceAddressPrefix: r.source,
    destinationAddressPrefix: '*',
    access: 'Allow',
    priority: FIRST_RULE_PRIORITY + i,
    direction: 'Inbound',
  }));
}

function parsePorts(s: string): { from: number; to: number } | undefined {
  if (s === '*') return { from: 0, to: 65535 };
  const m = /^(\d+)(?:-(\d+))?$/.exec(s.trim());
  if (!m) return undefined;
  return { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
}

/**
 * NSG rules → Skyweave firewall rules: inbound Allow rules only (Deny rules and default rules are not part of the
 * plan), one rule per protocol × port range × source prefix; protocol `*` counts as both tcp and udp; other protocols
 * (Icmp, Esp, Ah) are left out.
 */
export function fromNsgRules(rules: readonly NsgRule[]): FirewallRule[] {
  const out: FirewallRule[] = [];
  for (const r of rules) {
    if (r.direction?.toLowerCase() !== 'inbound' || r.access?.toLowerCase() !== 'allow') continue;
    const p = r.protocol?.toLowerCase();
    const protocols: ('tcp' | 'udp')[] = p === 'tcp' ? ['tcp'] : p === 'udp' ? ['udp'] : p === '*' ? ['tcp', 'udp'] : [];
    const ports = (r.destinationPortRanges?.length ? r.destinationPortRanges : r.destinationPortRange !== undefined ? [r.destinationPortRange] : []).map(parsePorts);
    const sources = r.sourceAddressPrefixes?.length ? r.sourceAddressPrefixes : r.sourceAddressPrefix !== undefined ? [r.sourceAddressPrefix] : [];
    for (const protocol of protocols) {
      for (const port of ports) {
        if (!port) continue;
        for (const source of sources) out.push({ protocol, fromPort: port.from, toPort: port.to, source, description: r.description ?? r.name ?? '' });
      }
    }
  }
  return out;
}

/**
 * Drift of an NSG's security rules against the planned ones, as `NetworkInspection.drift` lines (`label` e.g.
 * `network security group sw-1a2b3c4d-master-nsg`): planned rules missing and inbound Allow rules not in the plan
 * (compared as FirewallRules, see fromNsgRules), then every rule that is not an inbound Allow (Deny, Outbound), which
 * the plan never has. Default rules are not security rules and are not looked at. Empty ⇔ the NSG is exactly the plan.
 */
export function nsgDrift(label: string, rules: readonly NsgRule[], planned: readonly FirewallRule[]): string[] {
  const other = rules
    .filter((r) => r.direction?.toLowerCase() !== 'inbound' || r.access?.toLowerCase() !== 'allow')
    .map((r) => extraRule(label, `${r.name ?? '?'} (${r.direction ?? '?'} ${r.access ?? '?'})`))
    .sort();
  return [...firewallDrift(label, fromNsgRules(rules), planned), ...other];
}

/**
 * A VM's state from its provisioning state and its `PowerState/…` status code (instance view).
 * Deleting ⇒ `stopping` (it still exists); without a power state, Succeeded ⇒ `running`, anything else ⇒ `pending`.
 */
export function vmState(provisioningState: string | undefined, powerStateCode: string | undefined): InstanceState {
  const ps = provisioningState?.toLowerCase();
  if (ps === 'deleting') return 'stopping';
  const power = powerStateCode?.replace(/^PowerState\//i, '').toLowerCase();
  switch (power) {
    case 'running': return 'running';
    case 'starting': return 'pending';
    case 'stopping':
    case 'deallocating': return 'stopping';
    case 'stopped':
    case 'deallocated': return 'stopped';
    default: break;
  }
  if (ps === 'succeeded') return 'running';
  if (ps === 'failed') return 'stopped';
  return 'pending';
}

/** The `PowerState/…` code among instance-view statuses. */
export const powerStateOf = (statuses: readonly { code?: string }[] | undefined): string | undefined =>
  statuses?.find((s) => s.code?.toLowerCase().startsWith('powerstate/'))?.code;

/** An `ssh-ed25519` OpenSSH public key of a fresh key pair (the private half is discarded: nodes are reached by their agent, not SSH). */
export function generateSshPublicKey(comment = 'skyweave'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const str = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Error classification
// ---------------------------------------------------------------------------------------------------------------------

const THROTTLED = new Set(['toomanyrequests', 'subscriptionrequeststhrottled', 'resourcegrouprequeststhrottled', 'tenantrequeststhrottled', 'retryableerror']);
const CAPACITY = new Set(['allocationfailed', 'zonalallocationfailed', 'overconstrainedallocationrequest', 'overconstrainedzonalallocationrequest', 'skunotavailable']);
const CREDENTIALS = new Set([
  'invalidauthenticationtoken', 'invalidauthenticationtokenaudience', 'invalidauthenticationtokentenant', 'expiredauthenticationtoken', 'authenticationfailed',
  'authorizationfailed', 'linkedauthorizationfailed', 'invalid_client', 'unauthorized_client', 'invalid_tenant', 'invalid_grant', 'invalid_resource', 'subscriptionnotfound',
]);
const NOT_FOUND = new Set(['resourcenotfound', 'resourcegroupnotfound', 'notfound', 'parentresourcenotfound']);
const CONFLICT = new Set([
  'conflict', 'anotheroperationinprogress', 'resourcegroupbeingdeleted', 'propertychangenotallowed', 'invalidresourcegrouplocation', 'nicinuse',
  'publicipaddresscannotbedeleted', 'publicipaddressinuse', 'inusesubnetcannotbedeleted', 'inusenetworksecuritygroupcannotbedeleted', 'resourcegroupdeletionblocked',
]);
const UNAVAILABLE = new Set(['internalservererror', 'serviceunavailable', 'gatewaytimeout', 'internalexecutionerror', 'request_send_error', 'econnrefused', 'econnreset', 'etimedout']);

/** Errors @azure/identity throws when no token can be had. */
const IDENTITY_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const rec = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);

/** The ARM/AAD error code and HTTP status carried by an SDK error, whatever its class. */
export function errorFacts(e: unknown): { code?: string; status?: number; message: string; name?: string } {
  const o = rec(e) ?? {};
  const message = str(o.message) ?? String(e);
  const name = str(o.name);
  // @azure/identity AuthenticationError: { statusCode, errorResponse: { error, errorDescription } }.
  const aad = rec(o.errorResponse);
  if (aad) return { code: str(aad.error), status: num(o.statusCode), message: str(aad.errorDescription) ?? message, name };
  // @azure/identity wraps MSAL failures: AuthenticationRequiredError "invalid_client: Error(s): 7000215 - …" (token endpoint
  // refused the client) or CredentialUnavailableError "endpoints_resolution_error: …" (tenant discovery failed).
  if (name && IDENTITY_ERRORS.has(name)) return { code: /^([a-z_]+):/.exec(message)?.[1], message, name };
  // core-lro: "The long-running operation has failed. <code>. <message>"
  const lro = /^The long-running operation has failed\. ([A-Za-z0-9_]+)\. ([\s\S]*)$/.exec(message);
  if (lro) return { code: lro[1], message: lro[2], name };
  // RestError (core-rest-pipeline / ts-http-runtime): { code, statusCode, details?: { error: { code } } }.
  const details = rec(rec(o.details)?.error);
  return { code: str(o.code) ?? str(details?.code), status: num(o.statusCode), message, name };
}

/** The CloudError kind of an Azure failure (ARM error code first, HTTP status second). */
export function classify(facts: { code?: string; status?: number; message: string; name?: string }): CloudErrorKind {
  const code = facts.code?.toLowerCase() ?? '';
  if (facts.name && IDENTITY_ERRORS.has(facts.name)) {
    if (facts.status === 429 || code === 'slow_down') return 'Throttled';
    if ((facts.status !== undefined && facts.status >= 500) || code === 'temporarily_unavailable' || code === 'server_error') return 'Unavailable';
    // invalid_client (bad secret), unauthorized_client (unknown app), invalid_request / endpoints_resolution_error
    // (unknown tenant), invalid_grant, invalid_scope, invalid_resource …
    return 'InvalidCredentials';
  }
  if (THROTTLED.has(code) || facts.status === 429) return 'Throttled';
  if (code.includes('quota') || code.endsWith('limitreached') || (code === 'operationnotallowed' && /quota/i.test(facts.message))) return 'QuotaExceeded';
  if (CAPACITY.has(code)) return 'InsufficientCapacity';
  if (CREDENTIALS.has(code) || facts.status === 401 || facts.status === 403) return 'InvalidCredentials';
  if (NOT_FOUND.has(code)) return 'NotFound';
  if (CONFLICT.has(code) || code.startsWith('inuse')) return 'Conflict';
  if (UNAVAILABLE.has(code) || (facts.status !== undefined && facts.status >= 500)) return 'Unavailable';
  if (facts.status === 404) return code === 'platformimagenotfound' ? 'InvalidRequest' : 'NotFound';
  if (facts.status === 409 || code === 'operationnotallowed') return 'Conflict';
  if (facts.status !== undefined && facts.status >= 400) return 'InvalidRequest';
  return facts.status === undefined ? 'Unavailable' : 'InvalidRequest';
}

/** Wraps any Azure SDK failure as a CloudError (CloudErrors pass through). */
export function toCloudError(e: unknown, what?: string): CloudError {
  if (e instanceof CloudError) return e;
  const facts = errorFacts(e);
  const kind = classify(facts);
  const code = facts.code ?? (facts.status !== undefined ? `HTTP${facts.status}` : 'Unknown');
  return new CloudError(kind, 'azure', code, what ? `${what}: ${facts.message}` : facts.message, { cause: e });
}

/** True when `e` says the thing does not exist (404 / ResourceNotFound / ResourceGroupNotFound / NotFound). */
export function isAzureNotFound(e: unknown): boolean {
  const f = errorFacts(e);
  return f.status === 404 && f.code?.toLowerCase() !== 'platformimagenotfound' && f.code?.toLowerCase() !== 'subscriptionnotfound';
}
