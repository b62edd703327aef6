import { randomUUID } from 'node:crypto';
import { ArmError, invalidRequestFormat } from './arm-error';
import { Call, Env, Reply, eqi, tagsField } from './common';
import type { ArmOperationTable } from './context';
import { registerRenderer, beginPut, created, invalidReference, ipConfigId, networkTypeOperations, nicsUsing, propsOf } from './network-common';
import { ARM_TYPES, Nic, NicIpConfig, PublicIp, ResourceGroup, Subnet, newEtag, provisioningState } from './state';
import { ZONES, cidrContainsIp, cidrSize, intToIp, ipToInt, isObject, optEnum, optRef, optString, optStringArray, parseCidr } from './validate';

/**
 * Public IP addresses and network interfaces (Microsoft.Network/publicIPAddresses, …/networkInterfaces): rendering,
 * validation (private address allocation, one IP configuration per public address), PUT, and their table entries.
 * References: https://learn.microsoft.com/rest/api/virtualnetwork/public-ip-addresses,
 * https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces
 */
export function renderPip(env: Env, p: PublicIp, now: number): Record<string, unknown> {
  const user = nicsUsing(env, p.subscriptionId, (c) => eqi(c.publicIpId, p.id))[0];
  return {
    name: p.name,
    id: p.id,
    etag: p.etag,
    location: p.location,
    ...tagsField(p.tags),
    ...(p.zones ? { zones: [...p.zones] } : {}),
    type: ARM_TYPES.pip,
    sku: { ...p.sku },
    properties: {
      provisioningState: provisioningState(p, now),
      resourceGuid: p.resourceGuid,
      ...(p.ipAddress ? { ipAddress: p.ipAddress } : {}),
      publicIPAddressVersion: p.version,
      publicIPAllocationMethod: p.allocation,
      idleTimeoutInMinutes: p.idleTimeoutInMinutes,
      ipTags: [],
      ...(user ? { ipConfiguration: { id: ipConfigId(user.nic, user.cfg) } } : {}),
      ddosSettings: { protectionMode: 'VirtualNetworkInherited' },
    },
  };
}

export function renderNic(env: Env, n: Nic, now: number): Record<string, unknown> {
  const state = provisioningState(n, now);
  const vm = env.state.ofKind(n.subscriptionId, 'vm').find((v) => v.nics.some((r) => eqi(r.id, n.id)));
  return {
    name: n.name,
    id: n.id,
    etag: n.etag,
    type: ARM_TYPES.nic,
    location: n.location,
    ...tagsField(n.tags),
    kind: 'Regular',
    properties: {
      provisioningState: state,
      resourceGuid: n.resourceGuid,
      ipConfigurations: n.ipConfigs.map((c) => ({
        name: c.name,
        id: ipConfigId(n, c),
        etag: n.etag,
        type: `${ARM_TYPES.nic}/ipConfigurations`,
        properties: {
          provisioningState: state,
          privateIPAddress: c.privateIp,
          privateIPAllocationMethod: c.allocation,
          subnet: { id: c.subnetId },
          ...(c.publicIpId ? { publicIPAddress: { id: c.publicIpId, ...(c.publicIpDeleteOption ? { properties: { deleteOption: c.publicIpDeleteOption } } : {}) } } : {}),
          primary: c.primary,
          privateIPAddressVersion: 'IPv4',
        },
      })),
      dnsSettings: { dnsServers: [], appliedDnsServers: [], internalDomainNameSuffix: `${n.resourceGuid.replace(/-/g, '').slice(0, 24)}.bx.internal.cloudapp.net` },
      ...(vm ? { macAddress: n.macAddress, primary: vm.nics.find((r) => eqi(r.id, n.id))?.primary ?? vm.nics.length === 1, virtualMachine: { id: vm.id } } : {}),
      enableAcceleratedNetworking: n.enableAcceleratedNetworking,
      vnetEncryptionSupported: false,
      enableIPForwarding: n.enableIPForwarding,
      disableTcpStateTracking: false,
      ...(n.nsgId ? { networkSecurityGroup: { id: n.nsgId } } : {}),
      hostedWorkloads: [],
      tapConfigurations: [],
      nicType: 'Standard',
      allowPort25Out: false,
      auxiliaryMode: 'None',
      auxiliarySku: 'None',
    },
  };
}

export function putPip(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<PublicIp>(env, call, rg, 'pip', name);
  const p = propsOf(body);
  let skuName: 'Basic' | 'Standard' = 'Basic';
  let tier: 'Regional' | 'Global' = 'Regional';
  if (body.sku !== undefined && body.sku !== null) {
    if (!isObject(body.sku)) throw invalidRequestFormat("Error converting value to type 'PublicIPAddressSku'. Path 'sku'.");
    skuName = optEnum(body.sku, 'name', ['Basic', 'Standard'] as const, 'sku') ?? 'Basic';
    tier = optEnum(body.sku, 'tier', ['Regional', 'Global'] as const, 'sku') ?? 'Regional';
  }
  const allocation = optEnum(p, 'publicIPAllocationMethod', ['Static', 'Dynamic'] as const, 'properties') ?? 'Dynamic';
  const canonicalId = existing?.id ?? id;
  if (skuName === 'Standard' && allocation !== 'Static') {
    throw new ArmError(400, 'StandardSkuPublicIPAddressesMustBeStatic', `Standard sku publicIp ${canonicalId} must have AllocationMethod set to Static.`);
  }
  const version = optEnum(p, 'publicIPAddressVersion', ['IPv4', 'IPv6'] as const, 'properties') ?? 'IPv4';
  if (version === 'IPv6') throw new ArmError(400, 'InvalidRequestFormat', 'The sandbox serves IPv4 public addresses only.');
  const idle = p.idleTimeoutInMinutes ?? 4;
  if (typeof idle !== 'number' || !Number.isInteger(idle) || idle < 4 || idle > 30) {
    throw new ArmError(400, 'PublicIPIdleTimeoutIsOutOfRange', `IdleTimeoutInMinutes of ${canonicalId} is out of range: ${String(idle)}. It must be between 4 and 30.`);
  }
  const zones = body.zones === undefined || body.zones === null ? undefined : optStringArray(body, 'zones', '');
  if (zones) {
    const allowed = ZONES[location] ?? [];
    const bad = zones.find((z) => !allowed.includes(z));
    if (bad !== undefined) throw new ArmError(400, 'ZonesNotSupported', `Zone ${bad} is not supported for ${canonicalId} in region ${location}. Supported zones: ${allowed.join(',') || 'none'}.`);
  }
  if (existing && (existing.sku.name !== skuName)) {
    throw new ArmError(400, 'PublicIPAddressSkuCannotBeChanged', `Sku of public IP ${canonicalId} cannot be changed from ${existing.sku.name} to ${skuName}.`);
  }
  let ipAddress = existing?.ipAddress;
  if (!ipAddress && allocation === 'Static') {
    ipAddress = env.state.allocatePublicIp();
    if (!ipAddress) {
      throw new ArmError(400, 'PublicIPCountLimitReached', `Cannot create more than 254 public IP addresses for this subscription in this region.`);
    }
  }
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('gateway.create') };
  const pip: PublicIp = existing
    ? { ...existing, tags, allocation, idleTimeoutInMinutes: idle, ipAddress, etag: newEtag(), busy }
    : {
      kind: 'pip', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(),
      createdAt: call.now, createdAtMs: call.clock, sku: { name: skuName, tier }, allocation, version, idleTimeoutInMinutes: idle, ...(zones ? { zones } : {}), ipAddress, busy,
    };
  env.state.put(pip);
  return created(env, call, pip, !existing, location);
}

/** Lowest free address of a subnet (Azure reserves the first four and the last). */
export function allocatePrivateIp(env: Env, subnet: Subnet, taken: Set<number>): string | undefined {
  const c = parseCidr(subnet.addressPrefix);
  if (!c) return undefined;
  for (let n = c.base + 4; n < c.base + cidrSize(c.len) - 1; n++) if (!taken.has(n)) return intToIp(n);
  return undefined;
}

export function putNic(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<Nic>(env, call, rg, 'nic', name);
  const p = propsOf(body);
  const canonicalId = existing?.id ?? id;
  const rawConfigs = p.ipConfigurations;
  if (!Array.isArray(rawConfigs) || rawConfigs.length === 0) {
    throw new ArmError(400, 'NetworkInterfaceMustHaveAtLeastOneIpConfiguration', `Network interface ${canonicalId} must have at least one IP configuration.`);
  }
  const nsgId = optRef(p, 'networkSecurityGroup', 'properties');
  if (nsgId) {
    const nsg = env.state.get(nsgId);
    if (!nsg || nsg.kind !== 'nsg' || nsg.deleting || nsg.location !== location) throw invalidReference(nsgId, canonicalId);
  }
  const bool = (k: string): boolean => {
    const v = p[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw invalidRequestFormat(`Error converting value to type 'System.Boolean'. Path 'properties.${k}'.`);
    return v;
  };
  const configs: NicIpConfig[] = [];
  let vnetOfNic: string | undefined;
  rawConfigs.forEach((raw, i) => {
    const path = `properties.ipConfigurations[${i}]`;
    if (!isObject(raw)) throw invalidRequestFormat(`Error converting value to type 'NetworkInterfaceIPConfiguration'. Path '${path}'.`);
    const cfgName = optString(raw, 'name', path);
    if (!cfgName) throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.name.` }] });
    const cp = propsOf(raw);
    const cpath = `${path}.properties`;
    const cfgId = `${canonicalId}/ipConfigurations/${cfgName}`;
    const subnetId = optRef(cp, 'subnet', cpath);
    if (!subnetId) throw new ArmError(400, 'IpConfigurationSubnetMissing', `IP configuration ${cfgId} must reference a subnet.`);
    const subnet = env.state.get(subnetId);
    const vnet = subnet?.kind === 'subnet' ? env.state.get(subnet.vnetId) : undefined;
    if (!subnet || subnet.kind !== 'subnet' || !vnet || vnet.deleting || vnet.location !== location) throw invalidReference(subnetId, cfgId);
    if (vnetOfNic && !eqi(vnetOfNic, vnet.id)) throw new ArmError(400, 'IpConfigurationsOfNicMustBeInSameVnet', `IP configurations of network interface ${canonicalId} must all reference subnets of the same virtual network.`);
    vnetOfNic = vnet.id;
    const allocation = optEnum(cp, 'privateIPAllocationMethod', ['Static', 'Dynamic'] as const, cpath) ?? 'Dynamic';
    const requested = optString(cp, 'privateIPAddress', cpath);
    const pipId = optRef(cp, 'publicIPAddress', cpath);
    let pipDeleteOption: 'Delete' | 'Detach' | undefined;
    if (pipId) {
      const pipRef = cp.publicIPAddress as Record<string, unknown>;
      const pipProps = isObject(pipRef.properties) ? pipRef.properties : {};
      pipDeleteOption = optEnum(pipProps, 'deleteOption', ['Delete', 'Detach'] as const, `${cpath}.publicIPAddress.properties`);
      const pip = env.state.get(pipId);
      if (!pip || pip.kind !== 'pip' || pip.deleting || pip.location !== location) throw invalidReference(pipId, cfgId);
      const other = nicsUsing(env, call.account.subscriptionId, (c, n) => eqi(c.publicIpId, pipId) && !(eqi(n.id, canonicalId) && c.name.toLowerCase() === cfgName.toLowerCase()))[0];
      if (other) {
        throw new ArmError(400, 'PublicIPAddressInUse', `Resource ${pip.id} is already in use by ${ipConfigId(other.nic, other.cfg)}. A public IP address can be associated with one IP configuration only.`);
      }
    }
    const primaryRaw = cp.primary;
    if (primaryRaw !== undefined && primaryRaw !== null && typeof primaryRaw !== 'boolean') throw invalidRequestFormat(`Error converting value to type 'System.Boolean'. Path '${cpath}.primary'.`);
    const publicIpId = pipId === undefined ? undefined : env.state.get(pipId)?.id;
    configs.push({ name: cfgName, subnetId: subnet.id, privateIp: requested ?? '', allocation, publicIpId, publicIpDeleteOption: pipDeleteOption, primary: primaryRaw === true });
  });
  if (configs.length === 1) configs[0].primary = true;
  else if (configs.filter((c) => c.primary).length !== 1) {
    throw new ArmError(400, 'NetworkInterfaceMustHaveExactlyOnePrimaryIpConfiguration', `Network interface ${canonicalId} must have exactly one primary IP configuration.`);
  }
  // Private addresses: keep what this NIC already has, honour static requests, then allocate the lowest free.
  for (const cfg of configs) {
    const subnet = env.state.get(cfg.subnetId) as Subnet;
    const c = parseCidr(subnet.addressPrefix);
    const taken = new Set(
      nicsUsing(env, call.account.subscriptionId, (x, n) => eqi(x.subnetId, subnet.id) && !eqi(n.id, canonicalId)).map(({ cfg: x }) => ipToInt(x.privateIp)),
    );
    for (const other of configs) if (other !== cfg && other.privateIp) taken.add(ipToInt(other.privateIp));
    const prev = existing?.ipConfigs.find((x) => x.name.toLowerCase() === cfg.name.toLowerCase() && eqi(x.subnetId, cfg.subnetId));
    if (cfg.allocation === 'Static') {
      if (!cfg.privateIp) throw new ArmError(400, 'PrivateIPAddressIsRequiredForStaticAllocation', `Private IP address is required for static allocation in ${canonicalId}/ipConfigurations/${cfg.name}.`);
      let n: number;
      try { n = ipToInt(cfg.privateIp); } catch { throw new ArmError(400, 'InvalidPrivateIPAddressFormat', `Private static IP address ${cfg.privateIp} does not have the right format.`); }
      if (!c || !cidrContainsIp(c, n)) throw new ArmError(400, 'PrivateIPAddressNotInSubnet', `IP configuration ${canonicalId}/ipConfigurations/${cfg.name} references the private IP address ${cfg.privateIp} which is not in the address range of subnet ${subnet.id}.`);
      if (n < c.base + 4 || n === c.base + cidrSize(c.len) - 1) throw new ArmError(400, 'PrivateIPAddressInReservedRange', `Private static IP address ${cfg.privateIp} falls within reserved IP range of subnet prefix ${subnet.addressPrefix}.`);
      if (taken.has(n)) throw new ArmError(400, 'PrivateIPAddressInUse', `IP configuration ${canonicalId}/ipConfigurations/${cfg.name} is using the private IP address ${cfg.privateIp} which is already allocated to resource ${subnet.id}.`);
    } else if (prev && prev.privateIp) {
      cfg.privateIp = prev.privateIp;
    } else {
      const ip = allocatePrivateIp(env, subnet, taken);
      if (!ip) throw new ArmError(400, 'SubnetIsFull', `Subnet ${subnet.name} with address prefix ${subnet.addressPrefix} does not have enough capacity for 1 IP addresses.`);
      cfg.privateIp = ip;
    }
  }
  // A dynamic (Basic) public address gets its IP when attached.
  for (const cfg of configs) {
    const pip = env.state.get(cfg.publicIpId);
    if (pip?.kind === 'pip' && !pip.ipAddress) pip.ipAddress = env.state.allocatePublicIp();
  }
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('gateway.create') };
  const nic: Nic = existing
    ? { ...existing, tags, ipConfigs: configs, nsgId: nsgId ? env.state.get(nsgId)?.id : undefined, enableAcceleratedNetworking: bool('enableAcceleratedNetworking'), enableIPForwarding: bool('enableIPForwarding'), etag: newEtag(), busy }
    : {
      kind: 'nic', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(),
      createdAt: call.now, createdAtMs: call.clock, ipConfigs: configs, nsgId: nsgId ? env.state.get(nsgId)?.id : undefined, enableAcceleratedNetworking: bool('enableAcceleratedNetworking'),
      enableIPForwarding: bool('enableIPForwarding'), macAddress: randomMac(), busy,
    };
  env.state.put(nic);
  return created(env, call, nic, !existing, location);
}

export function randomMac(): string {
  const hex = randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase();
  return `00-22-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
}

registerRenderer('pip', renderPip);
registerRenderer('nic', renderNic);

export const INTERFACE_OPERATIONS: ArmOperationTable = {
  ...networkTypeOperations('pip', putPip, 'gateway.create', 'instance.delete'),
  ...networkTypeOperations('nic', putNic, 'gateway.create', 'instance.delete'),
};
