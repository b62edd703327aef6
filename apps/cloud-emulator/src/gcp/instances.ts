import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stampNow } from '../core/consistency';
import { MACHINE_TYPES, ZONES, findImage, imageFromFamily, regionOfZone } from './catalog';
import {
  AGGREGATED_PARAMS, Call, LIST_PARAMS, OpTable, aggregated, allocatePrivateIp, failureFor, list, networkByRef, priorOperation, remember, seen, subnetByRef,
  visible, zone,
} from './context';
import { alreadyExists, invalid, invalidField, notFound, quotaFailure, required, resourceInUse, resourceNotReady } from './errors';
import { checkMessage } from './schema';
import { DiskRec, InstanceRec, NicRec, QUOTAS, SubnetRec } from './state';
import { API_BASE, fingerprint, lastSegment, later, link, newId, parseRef, timestamp } from './util';
import { checkEnum, checkDescription, checkLabels, checkMetadataItems, checkName, checkTags } from './validate';

/**
 * VM instances and their boot disks (https://cloud.google.com/compute/docs/reference/rest/v1/instances, …/disks):
 * an instance's boot disk is a disk resource of its zone, made with it and (autoDelete) deleted with it; the serial
 * console (port 1) is the sandbox's own boot log of the VM plus the VM runtime's cloud-init log.
 */

const instancePath = (c: Call, z: string, name: string) => `projects/${c.project.id}/zones/${z}/instances/${name}`;

/** Appends a line to the instance's serial console, as a boot log would print it (`[   1.234567] …`). */
function serialLine(inst: InstanceRec, line: string): void {
  const secs = ((Date.now() - inst.bootMs) / 1000).toFixed(6).padStart(12, ' ');
  inst.serial.push(`[${secs}] ${line}`);
}

/** The VM runtime's cloud-init log of a VM, where the runtime keeps one on disk (core/vm-runtime.ts); '' otherwise. */
function cloudInitLog(c: Call, inst: InstanceRec): string {
  const vms = c.shared.ctx.vms as { fsRoot?: (id: string) => string };
  if (typeof vms.fsRoot !== 'function') return '';
  try {
    const file = join(vms.fsRoot(inst.name), 'var/log/cloud-init-output.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

/** Instances and disks, by call name. */
export const INSTANCE_OPS: OpTable = {
  'instances.get': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/instances/{instance}', op: 'read', permission: 'compute.instances.get',
    run: (c) => {
      const z = zone(String(c.params.zone));
      const i = c.project.instances.get(`${z}/${String(c.params.instance)}`);
      if (!i || !seen(c, i)) throw notFound(instancePath(c, z, String(c.params.instance)));
      return c.project.renderInstance(i);
    },
  },
  'instances.list': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/instances', op: 'read', permission: 'compute.instances.list', query: LIST_PARAMS,
    run: (c) => {
      const z = zone(String(c.params.zone));
      const items = visible(c, c.project.instances.values()).filter((i) => i.zone === z);
      return list(c, 'Instance', items, (i) => c.project.renderInstance(i), 'compute#instanceList', `zones/${z}/instances`);
    },
  },
  'instances.aggregatedList': {
    method: 'GET', path: 'projects/{project}/aggregated/instances', op: 'read', permission: 'compute.instances.list', query: AGGREGATED_PARAMS,
    run: (c) => {
      const rows = visible(c, c.project.instances.values()).map((i) => c.project.renderInstance(i));
      const scopeOf = (r: Record<string, unknown>) => `zones/${lastSegment(String(r.zone))}`;
      return aggregated(c, 'Instance', rows, scopeOf, ZONES.map((z) => `zones/${z}`), 'instances', 'compute#instanceAggregatedList', 'instances');
    },
  },
  'instances.insert': {
    method: 'POST', path: 'projects/{project}/zones/{zone}/instances', op: 'instance.create', permission: 'compute.instances.create', query: ['requestId', 'sourceInstanceTemplate', 'sourceMachineImage'],
    run: (c) => {
      const z = zone(String(c.params.zone));
      const r = regionOfZone(z) ?? '';
      const prior = priorOperation(c);
      if (prior) return prior.json;
      if (c.query.sourceInstanceTemplate || c.query.sourceMachineImage) {
        throw invalidField(c.query.sourceInstanceTemplate ? 'sourceInstanceTemplate' : 'sourceMachineImage', c.query.sourceInstanceTemplate ?? c.query.sourceMachineImage, 'The referenced resource cannot be found.');
      }
      const body = checkMessage('Instance', c.req.body);
      const name = checkName('resource.name', body.name);
      const description = checkDescription('resource.description', body.description);

      // machine type: zones/{zone}/machineTypes/{type}
      if (body.machineType === undefined || body.machineType === '') throw required('resource.machineType');
      const mt = parseRef(String(body.machineType));
      if (mt.segments.length !== 4 || mt.segments[0] !== 'zones' || mt.segments[2] !== 'machineTypes') {
        throw invalidField('resource.machineType', body.machineType, 'The URL is malformed.');
      }
      if (mt.segments[1] !== z) throw invalidField('resource.machineType', body.machineType, `Machine type zone '${mt.segments[1]}' does not match the instance zone '${z}'.`);
      const machineType = mt.segments[3];
      if (!MACHINE_TYPES[machineType]) throw invalidField('resource.machineType', body.machineType, `Machine type with name '${machineType}' does not exist in zone '${z}'.`);

      const labels = checkLabels('resource.labels', body.labels);
      const tagsObj = (body.tags ?? {}) as Record<string, unknown>;
      const tags = checkTags('resource.tags.items', tagsObj.items) ?? [];
      const metadataObj = (body.metadata ?? {}) as Record<string, unknown>;
      const metadata = checkMetadataItems('resource.metadata.items', metadataObj.items);

      // disks: exactly one boot disk, created from a public image
      const disks = (body.disks ?? []) as Record<string, unknown>[];
      if (disks.length === 0) throw invalid("Invalid value for field 'resource.disks': ''. At least one disk must be specified (the boot disk).");
      if (disks.length > 1) throw invalidField('resource.disks', '', 'The sandbox supports exactly one (boot) disk per instance.');
      const disk = disks[0];
      if (disk.boot === false) throw invalidField('resource.disks[0].boot', false, 'The first disk must be the boot disk.');
      if (disk.source !== undefined) throw invalidField('resource.disks[0].source', disk.source, 'The referenced disk resource cannot be found.');
      const init = (disk.initializeParams ?? {}) as Record<string, unknown>;
      if (init.sourceImage === undefined || init.sourceImage === '') throw required('resource.disks[0].initializeParams.sourceImage');
      const img = parseRef(String(init.sourceImage));
      const isFamily = img.segments.length === 4 && img.segments[0] === 'global' && img.segments[1] === 'images' && img.segments[2] === 'family';
      const isImage = img.segments.length === 3 && img.segments[0] === 'global' && img.segments[1] === 'images';
      if (!img.project || (!isFamily && !isImage)) throw invalidField('resource.disks[0].initializeParams.sourceImage', init.sourceImage, 'The URL is malformed.');
      const image = findImage(img.project, isFamily ? 'family' : 'image', img.segments[img.segments.length - 1]);
      if (!image) throw notFound(`projects/${img.project}/global/images/${isFamily ? 'family/' : ''}${img.segments[img.segments.length - 1]}`);
      const sizeGb = init.diskSizeGb === undefined ? image.sizeGb : Number(init.diskSizeGb);
      if (sizeGb < image.sizeGb) throw invalid(`Invalid value for field 'resource.disks[0].initializeParams.diskSizeGb': '${sizeGb}'. Requested disk size cannot be smaller than the image size (${image.sizeGb} GB)`);
      if (sizeGb > 65536) throw invalidField('resource.disks[0].initializeParams.diskSizeGb', sizeGb, 'Disk size cannot be larger than 65536 GB.');
      const diskName = init.diskName === undefined ? name : checkName('resource.disks[0].initializeParams.diskName', init.diskName);
      if (image.architecture !== MACHINE_TYPES[machineType].arch) {
        throw invalid(`Invalid resource usage: 'Requested boot disk architecture (${image.architecture}) is not compatible with machine type architecture (${MACHINE_TYPES[machineType].arch}).'.`);
      }

      // network interfaces: one NIC in a subnetwork of the zone's region
      const nicsIn = (body.networkInterfaces ?? []) as Record<string, unknown>[];
      if (nicsIn.length === 0) throw invalid("Invalid value for field 'resource.networkInterfaces': ''. At least one network interface must be specified.");
      if (nicsIn.length > 1) throw invalidField('resource.networkInterfaces', '', 'The sandbox supports one network interface per instance.');
      const nicIn = nicsIn[0];
      let subnet: SubnetRec;
      if (nicIn.subnetwork !== undefined && nicIn.subnetwork !== '') {
        subnet = subnetByRef(c, String(nicIn.subnetwork), 'resource.networkInterfaces[0].subnetwork');
        if (subnet.region !== r) throw invalidField('resource.networkInterfaces[0].subnetwork', nicIn.subnetwork, `Subnetwork must be in region '${r}'.`);
        if (nicIn.network !== undefined && nicIn.network !== '' && networkByRef(c, String(nicIn.network), 'resource.networkInterfaces[0].network').name !== subnet.network) {
          throw invalidField('resource.networkInterfaces[0].network', nicIn.network, 'The subnetwork does not belong to this network.');
        }
      } else {
        const net = networkByRef(c, nicIn.network === undefined || nicIn.network === '' ? 'global/networks/default' : String(nicIn.network), 'resource.networkInterfaces[0].network');
        const auto = [...c.project.subnetworks.values()].find((s) => s.network === net.name && s.region === r && s.auto);
        if (!net.auto || !auto) throw invalidField('resource.networkInterfaces[0].subnetwork', '', 'Subnetwork should be specified for custom subnetmode network.');
        subnet = auto;
      }
      if (subnet.deleting) throw resourceNotReady(`projects/${c.project.id}/regions/${subnet.region}/subnetworks/${subnet.name}`);
      const accessConfigs = (nicIn.accessConfigs ?? []) as Record<string, unknown>[];
      if (accessConfigs.length > 1) throw invalidField('resource.networkInterfaces[0].accessConfigs', '', 'At most one access config per network interface is supported.');
      const ac = accessConfigs[0];
      if (ac) {
        checkEnum('resource.networkInterfaces[0].accessConfigs[0].type', ac.type, ['ONE_TO_ONE_NAT'] as const, 'ONE_TO_ONE_NAT');
        if (ac.natIP !== undefined) throw invalidField('resource.networkInterfaces[0].accessConfigs[0].natIP', ac.natIP, 'The referenced address resource cannot be found.');
        checkEnum('resource.networkInterfaces[0].accessConfigs[0].networkTier', ac.networkTier, ['PREMIUM', 'STANDARD'] as const, 'PREMIUM');
      }
      const networkIP = allocatePrivateIp(c.project, subnet, nicIn.networkIP);

      const sched = (body.scheduling ?? {}) as Record<string, unknown>;
      const preemptible = sched.preemptible === true;
      const serviceAccounts = ((body.serviceAccounts ?? []) as { email?: string; scopes?: string[] }[]).map((s, i) => {
        if (!s.email) throw required(`resource.serviceAccounts[${i}].email`);
        return { email: s.email === 'default' ? `${c.project.account.projectNumber}-compute@developer.gserviceaccount.com` : s.email, scopes: s.scopes ?? [] };
      });

      const path = `zones/${z}/instances/${name}`;
      if (c.project.instances.has(`${z}/${name}`) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);
      if (c.project.disks.has(`${z}/${diskName}`)) throw alreadyExists(`projects/${c.project.id}/zones/${z}/disks/${diskName}`);

      let failure = failureFor(c, 'CPUS', QUOTAS.CPUS_PER_REGION, r, `zones/${z}`);
      if (!failure && c.project.cpusInRegion(r) + MACHINE_TYPES[machineType].cpus > QUOTAS.CPUS_PER_REGION) failure = quotaFailure('CPUS', QUOTAS.CPUS_PER_REGION, r);
      if (!failure && c.project.instancesInRegion(r).length >= QUOTAS.INSTANCES_PER_REGION) failure = quotaFailure('INSTANCES', QUOTAS.INSTANCES_PER_REGION, r);
      if (!failure && ac && c.project.addressesInRegion(r) >= QUOTAS.IN_USE_ADDRESSES_PER_REGION) failure = quotaFailure('IN_USE_ADDRESSES', QUOTAS.IN_USE_ADDRESSES_PER_REGION, r);
      let natIP: string | undefined;
      if (!failure && ac) {
        natIP = c.shared.ips.allocate();
        if (!natIP) failure = quotaFailure('IN_USE_ADDRESSES', QUOTAS.IN_USE_ADDRESSES_PER_REGION, r);
      }

      const id = newId();
      const op = c.project.startOperation({ kind: 'zone', zone: z }, 'insert', path, id);
      remember(c, op);
      if (failure) {
        c.project.pending.add(path);
        later(c.shared.ctx.latencyMs('instance.create'), () => {
          c.project.pending.delete(path);
          c.project.finishOperation(op, failure);
        });
        return op.json;
      }
      const nic: NicRec = {
        network: subnet.network,
        subnetwork: { region: subnet.region, name: subnet.name },
        networkIP,
        ...(ac && natIP ? { accessConfig: { name: typeof ac.name === 'string' && ac.name ? ac.name : 'External NAT', natIP, networkTier: String(ac.networkTier ?? 'PREMIUM') } } : {}),
      };
      const inst: InstanceRec = {
        id, createdAtMs: stampNow(c.shared.ctx), name, zone: z, created: timestamp(), description, machineType, status: 'PROVISIONING',
        labels, labelFingerprint: fingerprint(), tags, tagsFingerprint: fingerprint(), metadata, metadataFingerprint: fingerprint(),
        nics: [nic],
        bootDisk: { name: diskName, sizeGb, sourceImage: String(init.sourceImage), autoDelete: disk.autoDelete !== false, deviceName: typeof disk.deviceName === 'string' && disk.deviceName ? disk.deviceName : 'persistent-disk-0' },
        deletionProtection: body.deletionProtection === true,
        canIpForward: body.canIpForward === true,
        serviceAccounts,
        scheduling: { onHostMaintenance: preemptible ? 'TERMINATE' : 'MIGRATE', automaticRestart: !preemptible, preemptible, provisioningModel: preemptible ? 'SPOT' : 'STANDARD' },
        fingerprint: fingerprint(),
        deleting: false,
        timers: [],
        bootMs: Date.now(),
        serial: [],
      };
      const size = MACHINE_TYPES[machineType];
      const resolved = img.project === 'ubuntu-os-cloud' && isFamily ? imageFromFamily(img.project, img.segments[3]) : undefined;
      const bootDisk: DiskRec = {
        id: newId(), createdAtMs: inst.createdAtMs, name: diskName, zone: z, created: inst.created, sizeGb, architecture: image.architecture,
        sourceImage: link(img.project, `global/images/${resolved ? resolved.name : img.segments[img.segments.length - 1]}`),
        sourceImageFamily: isFamily ? img.segments[3] : undefined,
        type: 'pd-standard', status: 'CREATING', users: [name], labelFingerprint: fingerprint(),
      };
      inst.architecture = image.architecture;
      c.project.instances.set(`${z}/${name}`, inst);
      c.project.disks.set(`${z}/${diskName}`, bootDisk);
      serialLine(inst, `Skyweave sandbox Compute Engine: instance ${name} (${machineType}: ${size.cpus} vCPU, ${size.memoryMb} MiB, ${size.arch}) in ${z}`);
      serialLine(inst, `boot disk ${diskName}: ${sizeGb} GB ${bootDisk.type} from ${bootDisk.sourceImage} (${image.architecture})`);
      serialLine(inst, `nic0: ${networkIP} in subnetwork ${subnet.name} (network ${subnet.network})${nic.accessConfig ? `, external ${nic.accessConfig.natIP}` : ''}`);
      inst.timers.push(later(c.shared.ctx.latencyMs('instance.create'), () => {
        if (inst.deleting) return;
        inst.status = 'STAGING';
        bootDisk.status = 'READY';
        bootDisk.lastAttachTimestamp = timestamp();
        serialLine(inst, 'status PROVISIONING -> STAGING: disk attached, host allocated');
        c.project.finishOperation(op);
        inst.timers.push(later(c.shared.ctx.latencyMs('instance.boot'), () => {
          if (inst.deleting) return;
          inst.status = 'RUNNING';
          inst.lastStartTimestamp = timestamp();
          const userData = inst.metadata.find((m) => m.key === 'user-data')?.value;
          serialLine(inst, 'status STAGING -> RUNNING');
          serialLine(inst, userData === undefined ? 'no user-data in the metadata: cloud-init has nothing to do'
            : `user-data: ${Buffer.byteLength(userData)} bytes handed to the sandbox VM runtime (cloud-init)`);
          c.shared.ctx.vms.boot({
            cloud: 'gcp', instanceId: inst.name, diskId: inst.id, userData: inst.metadata.find((m) => m.key === 'user-data')?.value ?? '', privateIp: nic.networkIP, publicIp: nic.accessConfig?.natIP,
            machine: { instanceType: inst.machineType, vcpu: size.cpus, memoryMiB: size.memoryMb, arch: size.arch === 'ARM64' ? 'arm64' : 'amd64', providerID: `gce://${c.project.id}/${inst.zone}/${inst.name}` },
          });
        }));
      }));
      return op.json;
    },
  },
  'instances.delete': {
    method: 'DELETE', path: 'projects/{project}/zones/{zone}/instances/{instance}', op: 'instance.delete', permission: 'compute.instances.delete', query: ['requestId'],
    run: (c) => {
      const z = zone(String(c.params.zone));
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.instance);
      const path = instancePath(c, z, name);
      const inst = c.project.instances.get(`${z}/${name}`);
      if (!inst) throw notFound(path);
      if (inst.deleting) throw resourceNotReady(path);
      if (inst.deletionProtection) throw invalid(`Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'.`);
      inst.deleting = true;
      inst.status = 'STOPPING';
      serialLine(inst, 'status -> STOPPING: instances.delete');
      for (const t of inst.timers) clearTimeout(t);
      const insertOp = [...c.project.operations.values()].find((o) => !o.done && o.json.targetId === inst.id);
      const op = c.project.startOperation({ kind: 'zone', zone: z }, 'delete', `zones/${z}/instances/${name}`, inst.id);
      remember(c, op);
      later(c.shared.ctx.latencyMs('instance.delete'), () => {
        c.project.instances.delete(`${z}/${name}`);
        const boot = c.project.disks.get(`${z}/${inst.bootDisk.name}`);
        if (boot && inst.bootDisk.autoDelete) c.project.disks.delete(`${z}/${inst.bootDisk.name}`);
        else if (boot) {
          boot.users = boot.users.filter((u) => u !== inst.name);
          boot.lastDetachTimestamp = timestamp();
        }
        c.shared.ctx.vms.stop(inst.name);
        for (const n of inst.nics) if (n.accessConfig) c.shared.ips.release(n.accessConfig.natIP);
        if (insertOp) c.project.finishOperation(insertOp);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
  'instances.getSerialPortOutput': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/instances/{instance}/serialPort', op: 'read', permission: 'compute.instances.getSerialPortOutput', query: ['port', 'start'],
    run: (c) => {
      const z = zone(String(c.params.zone));
      const name = String(c.params.instance);
      const inst = c.project.instances.get(`${z}/${name}`);
      if (!inst || !seen(c, inst)) throw notFound(instancePath(c, z, name));
      const port = c.query.port === undefined ? 1 : Number(c.query.port);
      if (!Number.isInteger(port) || port < 1 || port > 4) throw invalidField('port', c.query.port, 'Must be between 1 and 4.');
      const log = port === 1 ? `${inst.serial.join('\n')}\n${cloudInitLog(c, inst)}` : '';
      const bytes = Buffer.from(log, 'utf8');
      let start = c.query.start === undefined ? 0 : Number(c.query.start);
      if (!Number.isInteger(start)) throw invalidField('start', c.query.start, 'Must be an integer.');
      if (start < 0) start = Math.max(0, bytes.length + start);
      start = Math.min(start, bytes.length);
      return {
        kind: 'compute#serialPortOutput',
        contents: bytes.subarray(start).toString('utf8'),
        start: String(start),
        next: String(bytes.length),
        selfLink: `${API_BASE}${instancePath(c, z, name)}/serialPort${port === 1 ? '' : `?port=${port}`}`,
      };
    },
  },
  'disks.get': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/disks/{disk}', op: 'read', permission: 'compute.disks.get',
    run: (c) => {
      const z = zone(String(c.params.zone));
      const d = c.project.disks.get(`${z}/${String(c.params.disk)}`);
      if (!d || !seen(c, d)) throw notFound(`projects/${c.project.id}/zones/${z}/disks/${String(c.params.disk)}`);
      return c.project.renderDisk(d);
    },
  },
  'disks.list': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/disks', op: 'read', permission: 'compute.disks.list', query: LIST_PARAMS,
    run: (c) => {
      const z = zone(String(c.params.zone));
      const items = visible(c, c.project.disks.values()).filter((d) => d.zone === z);
      return list(c, 'Disk', items, (d) => c.project.renderDisk(d), 'compute#diskList', `zones/${z}/disks`);
    },
  },
  'disks.aggregatedList': {
    method: 'GET', path: 'projects/{project}/aggregated/disks', op: 'read', permission: 'compute.disks.list', query: AGGREGATED_PARAMS,
    run: (c) => {
      const rows = visible(c, c.project.disks.values()).map((d) => c.project.renderDisk(d));
      const scopeOf = (r: Record<string, unknown>) => `zones/${lastSegment(String(r.zone))}`;
      return aggregated(c, 'Disk', rows, scopeOf, ZONES.map((z) => `zones/${z}`), 'disks', 'compute#diskAggregatedList', 'disks');
    },
  },
  'disks.delete': {
    method: 'DELETE', path: 'projects/{project}/zones/{zone}/disks/{disk}', op: 'instance.delete', permission: 'compute.disks.delete', query: ['requestId'],
    run: (c) => {
      const z = zone(String(c.params.zone));
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.disk);
      const where = `projects/${c.project.id}/zones/${z}/disks/${name}`;
      const d = c.project.disks.get(`${z}/${name}`);
      if (!d) throw notFound(where);
      if (d.status !== 'READY') throw resourceNotReady(where);
      if (d.users.length) throw resourceInUse(where, 'disk', `projects/${c.project.id}/zones/${z}/instances/${d.users[0]}`);
      d.status = 'DELETING';
      const op = c.project.startOperation({ kind: 'zone', zone: z }, 'delete', `zones/${z}/disks/${name}`, d.id);
      remember(c, op);
      later(c.shared.ctx.latencyMs('instance.delete'), () => {
        c.project.disks.delete(`${z}/${name}`);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
};
