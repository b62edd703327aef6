import { resourceNotFound } from './arm-error';
import { Reply, computeTime, eqi, page, seen, tagsField } from './common';
import { ArmOperationTable, OpContext, groupOf, read } from './context';
import { ARM_TYPES, Disk, provisioningState } from './state';

/**
 * Managed disks (Microsoft.Compute/disks): each VM's OS disk, made with the VM (named in its
 * `storageProfile.osDisk.managedDisk.id`) and deleted with it when its `deleteOption` is `Delete` (else left
 * `Unattached`). Served: Disks - Get, List By Resource Group, List (https://learn.microsoft.com/rest/api/compute/disks).
 * Creating, updating or deleting a disk on its own is not served (501).
 */

/** Performance tier of a managed disk of `sizeGB` (Premium SSD P*, Standard SSD E*, Standard HDD S*) and its provisioned IOPS / MBps. */
function tierOf(sku: string, sizeGB: number): { tier: string; iops: number; mbps: number } {
  const steps: [number, string, number, number][] = [[32, '4', 120, 25], [64, '6', 240, 50], [128, '10', 500, 100], [256, '15', 1100, 125], [512, '20', 2300, 150], [1024, '30', 5000, 200], [2048, '40', 7500, 250], [4096, '50', 7500, 250]];
  const [, n, iops, mbps] = steps.find(([max]) => sizeGB <= max) ?? steps[steps.length - 1];
  if (sku.startsWith('Premium')) return { tier: `P${n}`, iops, mbps };
  if (sku.startsWith('StandardSSD')) return { tier: `E${n}`, iops: 500, mbps: 100 };
  return { tier: `S${n}`, iops: 500, mbps: 60 };
}

/** A disk as Disks - Get answers it. */
export function renderDisk(d: Disk, now: number): Record<string, unknown> {
  const t = tierOf(d.sku, d.sizeGB);
  return {
    name: d.name,
    id: d.id,
    type: ARM_TYPES.disk,
    location: d.location,
    ...tagsField(d.tags),
    ...(d.managedBy ? { managedBy: d.managedBy } : {}),
    sku: { name: d.sku, tier: d.sku.startsWith('Premium') ? 'Premium' : 'Standard' },
    ...(d.zones ? { zones: [...d.zones] } : {}),
    properties: {
      osType: 'Linux',
      hyperVGeneration: d.hyperVGeneration ?? 'V2',
      supportsHibernation: true,
      supportedCapabilities: { diskControllerTypes: 'SCSI, NVMe', acceleratedNetwork: true, architecture: d.architecture ?? 'x64' },
      creationData: { createOption: 'FromImage', ...(d.imageId ? { imageReference: { id: d.imageId } } : {}) },
      diskSizeGB: d.sizeGB,
      diskIOPSReadWrite: t.iops,
      diskMBpsReadWrite: t.mbps,
      encryption: { type: 'EncryptionAtRestWithPlatformKey' },
      networkAccessPolicy: 'AllowAll',
      publicNetworkAccess: 'Enabled',
      timeCreated: computeTime(d.createdAt),
      provisioningState: provisioningState(d, now),
      diskState: d.managedBy ? 'Attached' : 'Unattached',
      diskSizeBytes: d.sizeGB * 1024 ** 3,
      uniqueId: d.resourceGuid,
      tier: t.tier,
    },
  };
}

/** Disks as Resources - List shows them. */
export function renderDiskGeneric(d: Disk): Record<string, unknown> {
  return { id: d.id, name: d.name, type: ARM_TYPES.disk, sku: { name: d.sku, tier: d.sku.startsWith('Premium') ? 'Premium' : 'Standard' }, location: d.location, ...(d.zones ? { zones: d.zones } : {}), ...(d.managedBy ? { managedBy: d.managedBy } : {}), ...tagsField(d.tags) };
}

async function listDisks(c: OpContext): Promise<Reply> {
  await c.env.ctx.delay('read');
  const sub = c.call.account.subscriptionId;
  const rg = c.group;
  const disks = c.env.state.ofKind(sub, 'disk').filter((d) => (!rg || eqi(d.resourceGroup, rg.name)) && seen(c.env, d));
  return page(c.call, c.path.path, disks.map((d) => renderDisk(d, c.call.now)));
}

async function getDisk(c: OpContext): Promise<Reply> {
  await c.env.ctx.delay('read');
  const g = groupOf(c);
  const name = c.path.names[0];
  const d = c.env.state.get(`/subscriptions/${c.call.account.subscriptionId}/resourceGroups/${g.name}/providers/Microsoft.Compute/disks/${name}`);
  if (d?.kind !== 'disk' || !seen(c.env, d)) throw resourceNotFound(ARM_TYPES.disk, name, g.name);
  return { status: 200, body: renderDisk(d, c.call.now) };
}

export const DISK_OPERATIONS: ArmOperationTable = {
  'LIST Microsoft.Compute/disks': read(listDisks),
  'GET Microsoft.Compute/disks': read(getDisk),
};
