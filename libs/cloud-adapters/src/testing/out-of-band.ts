import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
  IpPermission,
  RevokeSecurityGroupIngressCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  FirewallsClient, GlobalOperationsClient, InstancesClient, NetworksClient, RegionOperationsClient, SubnetworksClient, ZoneOperationsClient, protos,
} from '@google-cloud/compute';
import type { SecurityRule } from '@azure/arm-network';
import { createApiClient } from 'dots-wrapper';
import { FirewallRule, NodeRole, ruleKey } from '@skyweave/domain';
import type { CloudCredentials, CloudEndpoints, NetworkStatus } from '../cloud-provider';
import { ruleText } from '../drift';
import { createEc2Client } from '../aws/aws-client';
import { permissionsToRules } from '../aws/firewall';
import { createAzureClients } from '../azure/azure-client';
import { fromNsgRules, parseArmId } from '../azure/azure-helpers';
import { computeClientOptions } from '../gcp/gcp-client';
import { firewallToRules } from '../gcp/gcp-firewall';
import { lastSegment, regionOfZone } from '../gcp/gcp-naming';
import type { DoInboundRule } from '../digitalocean/digitalocean-mapping';

/**
 * What a user does beside Skyweave in a cloud's console, for tests of drift detection and repair. Built directly on
 * the official SDK clients (made as the adapters make them, see `outOfBand`), never through a CloudProvider, and
 * without looking at tags: like the console, it changes whatever it is pointed at.
 */
export interface OutOfBand {
  /** Terminates / deletes an instance by its cloud id (as `Instance.id`), waiting where the cloud has an operation. */
  terminateInstance(region: string, instanceId: string): Promise<void>;
  /**
   * Deletes the network's node subnet (AWS DeleteSubnet, GCP subnetworks.delete, Azure Subnets - Delete), waiting for
   * it. Instances in it must be gone. @throws Error on DigitalOcean, which has no subnet (a VPC is its own subnet).
   */
  deleteSubnet(network: NetworkStatus): Promise<void>;
  /**
   * Removes one inbound rule of the role's security group / firewall — the first tcp/udp rule by `ruleKey`, i.e. one
   * plan rule when the network is as planned.
   * @returns the rule removed, as `ruleText` writes it (`tcp/6443 from 0.0.0.0/0`).
   */
  deleteFirewallRule(network: NetworkStatus, role: NodeRole): Promise<string>;
  /**
   * Changes the port of one inbound rule of the role's security group / firewall (the first by `ruleKey`): one port
   * `p` becomes `p + 1`, a range `a-b` becomes `a-(b-1)`; protocol and source stay.
   * @returns `<old> → <new>`, each as `ruleText` writes it (`tcp/6443 from 0.0.0.0/0 → tcp/6444 from 0.0.0.0/0`).
   */
  changeFirewallRule(network: NetworkStatus, role: NodeRole): Promise<string>;
  /**
   * Deletes the whole network as the console does. AWS: every subnet, non-main route table (associations first),
   * attached internet gateway (detached first) and non-default security group of the VPC, then the VPC. GCP: every
   * firewall and subnetwork (in the network's region) of the network, then the network. Azure: the VNet's resource
   * group — with everything in it, VMs included. DigitalOcean: the role firewalls, then the VPC. Instances must
   * already be gone (except on Azure).
   */
  deleteNetwork(network: NetworkStatus): Promise<void>;
}

/** The changed form of a rule (see OutOfBand.changeFirewallRule). */
function changed(r: FirewallRule): FirewallRule {
  if (r.fromPort === r.toPort) {
    const p = r.fromPort < 65535 ? r.fromPort + 1 : r.fromPort - 1;
    return { ...r, fromPort: p, toPort: p };
  }
  return { ...r, toPort: r.toPort - 1 };
}

const portSpec = (r: Pick<FirewallRule, 'fromPort' | 'toPort'>, sep = '-') => (r.fromPort === r.toPort ? `${r.fromPort}` : `${r.fromPort}${sep}${r.toPort}`);

/** The first tcp/udp rule by ruleKey. @throws Error when there is none. */
function firstRule(rules: readonly FirewallRule[], where: string): FirewallRule {
  const r = [...rules].filter((x) => x.protocol === 'tcp' || x.protocol === 'udp').sort((a, b) => ruleKey(a).localeCompare(ruleKey(b)))[0];
  if (!r) throw new Error(`${where} has no tcp/udp inbound rule to change`);
  return r;
}

/**
 * Out-of-band console actions on one account: the SDK clients are made with the same credentials and endpoint
 * handling as `createCloudProvider` (aws-client.ts, gcp-client.ts, azure-client.ts, dots-wrapper's client), so a
 * sandbox's `CloudEndpoints` work as they do for the adapters.
 */
export function outOfBand(creds: CloudCredentials, endpoints: CloudEndpoints): OutOfBand {
  switch (creds.cloud) {
    case 'aws':
      return awsOutOfBand((region) => createEc2Client(creds.aws, endpoints, region));
    case 'gcp':
      return gcpOutOfBand(creds.gcp.project_id, computeClientOptions(creds.gcp, endpoints));
    case 'azure':
      return azureOutOfBand(createAzureClients(creds.azure, endpoints));
    case 'digitalocean':
      return digitalOceanOutOfBand(createApiClient({ token: creds.digitalocean.token, endpoint: endpoints.digitalocean, requestTimeoutInMs: 30_000 }));
  }
}

// ---------------------------------------------------------------------------------------------------------------- AWS

function awsOutOfBand(clientFor: (region: string) => EC2Client): OutOfBand {
  const clients = new Map<string, EC2Client>();
  const ec2 = (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = clientFor(region);
      clients.set(region, c);
    }
    return c;
  };
  const perm = (r: FirewallRule): IpPermission => ({ IpProtocol: r.protocol, FromPort: r.fromPort, ToPort: r.toPort, IpRanges: [{ CidrIp: r.source }] });
  const groupRule = async (network: NetworkStatus, role: NodeRole) => {
    const groupId = network.securityGroupIds[role];
    const out = await ec2(network.region).send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    return { groupId, rule: firstRule(permissionsToRules(out.SecurityGroups?.[0]?.IpPermissions ?? []), `security group ${groupId}`) };
  };
  return {
    async terminateInstance(region, instanceId) {
      await ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    },
    async deleteSubnet(network) {
      await ec2(network.region).send(new DeleteSubnetCommand({ SubnetId: network.subnetId }));
    },
    async deleteFirewallRule(network, role) {
      const { groupId, rule } = await groupRule(network, role);
      await ec2(network.region).send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [perm(rule)] }));
      return ruleText(rule);
    },
    async changeFirewallRule(network, role) {
      // The console's "Edit inbound rules" amounts to this: the old rule goes, the edited one comes.
      const { groupId, rule } = await groupRule(network, role);
      const next = changed(rule);
      await ec2(network.region).send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [perm(rule)] }));
      await ec2(network.region).send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [perm(next)] }));
      return `${ruleText(rule)} → ${ruleText(next)}`;
    },
    async deleteNetwork(network) {
      const c = ec2(network.region);
      const inVpc = [{ Name: 'vpc-id', Values: [network.vpcId] }];
      for (const s of (await c.send(new DescribeSubnetsCommand({ Filters: inVpc }))).Subnets ?? []) {
        await c.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId }));
      }
      for (const t of (await c.send(new DescribeRouteTablesCommand({ Filters: inVpc }))).RouteTables ?? []) {
        if ((t.Associations ?? []).some((a) => a.Main)) continue;
        for (const a of t.Associations ?? []) await c.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId }));
        await c.send(new DeleteRouteTableCommand({ RouteTableId: t.RouteTableId }));
      }
      const attached = [{ Name: 'attachment.vpc-id', Values: [network.vpcId] }];
      for (const g of (await c.send(new DescribeInternetGatewaysCommand({ Filters: attached }))).InternetGateways ?? []) {
        await c.send(new DetachInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId, VpcId: network.vpcId }));
        await c.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId }));
      }
      for (const g of (await c.send(new DescribeSecurityGroupsCommand({ Filters: inVpc }))).SecurityGroups ?? []) {
        if (g.GroupName !== 'default') await c.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId }));
      }
      await c.send(new DeleteVpcCommand({ VpcId: network.vpcId }));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------- GCP

type IOperation = protos.google.cloud.compute.v1.IOperation;
type IFirewall = protos.google.cloud.compute.v1.IFirewall;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function gcpOutOfBand(project: string, opts: ReturnType<typeof computeClientOptions>): OutOfBand {
  const networks = new NetworksClient({ ...opts });
  const subnetworks = new SubnetworksClient({ ...opts });
  const firewalls = new FirewallsClient({ ...opts });
  const instances = new InstancesClient({ ...opts });
  const globalOps = new GlobalOperationsClient({ ...opts });
  const regionOps = new RegionOperationsClient({ ...opts });
  const zoneOps = new ZoneOperationsClient({ ...opts });
  const PAGED = { autoPaginate: false };

  /** Waits for a long-running call's operation (operations.wait in its scope) and throws its error, if any. */
  const done = async (call: Promise<readonly unknown[]>): Promise<void> => {
    const [lro] = await call;
    let op = (lro as { latestResponse: IOperation }).latestResponse;
    while (String(op.status) !== 'DONE') {
      const operation = String(op.name);
      [op] = op.zone
        ? await zoneOps.wait({ project, zone: lastSegment(op.zone), operation })
        : op.region
          ? await regionOps.wait({ project, region: lastSegment(op.region), operation })
          : await globalOps.wait({ project, operation });
    }
    if (op.error?.errors?.length) throw new Error(`operation ${op.name} failed: ${JSON.stringify(op.error.errors)}`);
  };

  /** Patches the role's firewall so that its `allowed` entries lose `rule`'s port (and gain `add`'s). */
  const editFirewall = async (network: NetworkStatus, role: NodeRole, edit: (rule: FirewallRule) => FirewallRule | undefined): Promise<[FirewallRule, FirewallRule | undefined]> => {
    const name = network.securityGroupIds[role];
    const [fw] = await firewalls.get({ project, firewall: name });
    const rule = firstRule(firewallToRules(fw), `firewall ${name}`);
    const next = edit(rule);
    const allowed = (fw.allowed ?? []).map((a) => ({ IPProtocol: a.IPProtocol ?? '', ports: [...(a.ports ?? [])] }));
    const entry = allowed.find((a) => a.IPProtocol === rule.protocol && a.ports.includes(portSpec(rule)));
    if (!entry) throw new Error(`firewall ${name} has no port entry ${rule.protocol}:${portSpec(rule)}`);
    entry.ports = entry.ports.filter((p) => p !== portSpec(rule));
    if (next) entry.ports.push(portSpec(next));
    const kept = allowed.filter((a) => a.ports.length > 0);
    if (!kept.length) throw new Error(`firewall ${name}: removing ${ruleText(rule)} would leave it without rules`);
    const firewallResource: IFirewall = { allowed: kept };
    await done(firewalls.patch({ project, firewall: name, firewallResource }));
    return [rule, next];
  };

  return {
    async terminateInstance(region, instanceId) {
      const pairs = await collect(instances.aggregatedListAsync({ project, filter: `name = "${instanceId}"` }, PAGED));
      for (const [scope, list] of pairs) {
        const zone = scope.replace(/^zones\//, '');
        if (regionOfZone(zone) !== region) continue;
        for (const i of list.instances ?? []) await done(instances.delete({ project, zone, instance: String(i.name) }));
      }
    },
    async deleteSubnet(network) {
      await done(subnetworks.delete({ project, region: network.region, subnetwork: network.subnetId }));
    },
    async deleteFirewallRule(network, role) {
      const [rule] = await editFirewall(network, role, () => undefined);
      return ruleText(rule);
    },
    async changeFirewallRule(network, role) {
      const [rule, next] = await editFirewall(network, role, changed);
      return `${ruleText(rule)} → ${ruleText(next as FirewallRule)}`;
    },
    async deleteNetwork(network) {
      const inNetwork = (r: { network?: string | null }) => lastSegment(r.network) === network.vpcId;
      const fws = (await collect(firewalls.listAsync({ project }, PAGED))).filter(inNetwork);
      for (const f of fws) await done(firewalls.delete({ project, firewall: String(f.name) }));
      const subs = (await collect(subnetworks.listAsync({ project, region: network.region }, PAGED))).filter(inNetwork);
      for (const s of subs) await done(subnetworks.delete({ project, region: network.region, subnetwork: String(s.name) }));
      await done(networks.delete({ project, network: network.vpcId }));
    },
  };
}

// -------------------------------------------------------------------------------------------------------------- Azure

function azureOutOfBand(az: ReturnType<typeof createAzureClients>): OutOfBand {
  const arm = (id: string, what: string) => {
    const p = parseArmId(id);
    if (!p) throw new Error(`${what} ${id} is not an ARM resource id`);
    return p;
  };
  /**
   * Re-PUTs the role's NSG with its first rule (by ruleKey) removed or replaced — what `az network nsg update` or an
   * ARM template does (the portal edits the `securityRules` child resource to the same effect).
   */
  const editNsg = async (network: NetworkStatus, role: NodeRole, edit: (rule: FirewallRule) => FirewallRule | undefined): Promise<[FirewallRule, FirewallRule | undefined]> => {
    const id = arm(network.securityGroupIds[role], 'network security group');
    const nsg = await az.network.networkSecurityGroups.get(id.resourceGroup, id.name);
    const rules = nsg.securityRules ?? [];
    const single = rules.map((r) => ({ r, fw: fromNsgRules([r]) })).filter((x) => x.fw.length === 1);
    const rule = firstRule(single.map((x) => x.fw[0]), `network security group ${id.name}`);
    const victim = single.find((x) => ruleKey(x.fw[0]) === ruleKey(rule))?.r as SecurityRule;
    const next = edit(rule);
    const securityRules: SecurityRule[] = rules.flatMap((r): SecurityRule[] => {
      if (r !== victim) return [r];
      return next ? [{ ...r, destinationPortRange: portSpec(next), destinationPortRanges: [] }] : [];
    });
    await az.network.networkSecurityGroups.beginCreateOrUpdateAndWait(id.resourceGroup, id.name, { location: nsg.location, tags: nsg.tags, securityRules }, az.poll);
    return [rule, next];
  };
  return {
    async terminateInstance(_region, instanceId) {
      const id = arm(instanceId, 'virtual machine');
      await az.compute.virtualMachines.beginDeleteAndWait(id.resourceGroup, id.name, az.poll);
    },
    async deleteSubnet(network) {
      const id = arm(network.subnetId, 'subnet');
      if (!id.child) throw new Error(`${network.subnetId} is not a subnet id`);
      await az.network.subnets.beginDeleteAndWait(id.resourceGroup, id.name, id.child.name, az.poll);
    },
    async deleteFirewallRule(network, role) {
      const [rule] = await editNsg(network, role, () => undefined);
      return ruleText(rule);
    },
    async changeFirewallRule(network, role) {
      const [rule, next] = await editNsg(network, role, changed);
      return `${ruleText(rule)} → ${ruleText(next as FirewallRule)}`;
    },
    async deleteNetwork(network) {
      await az.resources.resourceGroups.beginDeleteAndWait(arm(network.vpcId, 'virtual network').resourceGroup, az.poll);
    },
  };
}

// ------------------------------------------------------------------------------------------------------- DigitalOcean

function digitalOceanOutOfBand(api: ReturnType<typeof createApiClient>): OutOfBand {
  /** Replaces (PUT) the role's firewall with its first inbound rule (by ruleKey) removed or replaced. */
  const editFirewall = async (network: NetworkStatus, role: NodeRole, edit: (rule: FirewallRule) => FirewallRule | undefined): Promise<[FirewallRule, FirewallRule | undefined]> => {
    const id = network.securityGroupIds[role];
    const fw = (await api.firewall.getFirewall({ firewall_id: id })).data.firewall;
    const inbound = (fw.inbound_rules ?? []) as DoInboundRule[];
    const flat = inbound.flatMap((r, i) => (r.sources?.addresses ?? []).map((source) => {
      const [from, to] = (r.ports ?? '').split('-').map(Number);
      return { i, rule: { protocol: r.protocol as 'tcp' | 'udp', fromPort: from, toPort: to ?? from, source, description: '' } };
    })).filter((x) => Number.isFinite(x.rule.fromPort));
    const rule = firstRule(flat.map((x) => x.rule), `firewall ${fw.name}`);
    const at = flat.find((x) => ruleKey(x.rule) === ruleKey(rule))?.i as number;
    const next = edit(rule);
    const rest = (inbound[at].sources.addresses ?? []).filter((a) => a !== rule.source);
    const rules: DoInboundRule[] = inbound.flatMap((r, i) => (i !== at ? [r] : rest.length ? [{ ...r, sources: { ...r.sources, addresses: rest } }] : []));
    if (next) rules.push({ protocol: next.protocol, ports: portSpec(next), sources: { addresses: [next.source] } });
    await api.firewall.updateFirewall({
      id: fw.id, name: fw.name, inbound_rules: rules, outbound_rules: fw.outbound_rules, droplet_ids: fw.droplet_ids, tags: fw.tags,
    } as Parameters<typeof api.firewall.updateFirewall>[0]);
    return [rule, next];
  };
  return {
    async terminateInstance(_region, instanceId) {
      await api.droplet.deleteDroplet({ droplet_id: Number(instanceId) });
    },
    async deleteSubnet() {
      throw new Error('DigitalOcean has no subnets: a VPC is its own single subnet (use deleteNetwork)');
    },
    async deleteFirewallRule(network, role) {
      const [rule] = await editFirewall(network, role, () => undefined);
      return ruleText(rule);
    },
    async changeFirewallRule(network, role) {
      const [rule, next] = await editFirewall(network, role, changed);
      return `${ruleText(rule)} → ${ruleText(next as FirewallRule)}`;
    },
    async deleteNetwork(network) {
      for (const id of Object.values(network.securityGroupIds)) if (id) await api.firewall.deleteFirewall({ firewall_id: id });
      await api.vpc.deleteVpc({ vpc_id: network.vpcId });
    },
  };
}
