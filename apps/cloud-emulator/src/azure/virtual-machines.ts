import { randomUUID } from 'node:crypto';
import { ArmError, invalidParameter, resourceNotFound } from './arm-error';
import { Call, Env, Reply, asyncOperationUrl, computeTime, deleteAccepted, eqi, page, seen, startOperation, tagsField } from './common';
import { ArmOperationTable, OpContext, groupOf, read } from './context';
import { IMAGES, findVmSize, VM_SIZE_LIST } from './catalog';
import { REGIONAL_CORES_QUOTA, renderVmSize } from './compute-catalog';
import { removeNetwork } from './network-common';
import { ARM_TYPES, AT_ACCEPTANCE, Disk, Nic, ResourceGroup, Vm, VmNicRef, provisioningState } from './state';
import { ZONES, isObject, optEnum, optString, optStringArray, parseTags, requireBody, requireLocation } from './validate';

/**
 * Virtual machines (Microsoft.Compute/virtualMachines): rendering (model, instance view), validation, PUT (with the
 * VM's managed OS disk, disks.ts), boot through the sandbox's VM host, DELETE (with what the delete options say goes
 * along), and their table entries. Reference: https://learn.microsoft.com/rest/api/compute/virtual-machines
 */
export const NS = 'Microsoft.Compute';
export { NS as COMPUTE_NS, REGIONAL_CORES_QUOTA };

/** VM sizes the sandbox offers (catalog.ts), with their vCPUs (for the regional cores quota). */
export const VM_SIZES: Record<string, number> = Object.fromEntries(VM_SIZE_LIST.map((v) => [v.name, v.vcpu]));

/** Memory of each VM size, MiB (catalog.ts). */
export const VM_SIZE_MEMORY_MIB: Record<string, number> = Object.fromEntries(VM_SIZE_LIST.map((v) => [v.name, v.memoryMiB]));

export const DISALLOWED_ADMIN_NAMES = new Set([
  'administrator', 'admin', 'user', 'user1', 'test', 'user2', 'test1', 'user3', 'admin1', '1', '123', 'a', 'actuser', 'adm', 'admin2', 'aspnet',
  'backup', 'console', 'david', 'guest', 'john', 'owner', 'root', 'server', 'sql', 'support', 'support_388945a0', 'sys', 'test2', 'test3', 'user4', 'user5',
]);

export const vmIdOf = (call: Call, rg: ResourceGroup, name: string) => `/subscriptions/${call.account.subscriptionId}/resourceGroups/${rg.name}/providers/${NS}/virtualMachines/${name}`;

export function powerState(vm: Vm, now: number): { code: string; display: string } {
  if (vm.deleting) return { code: 'PowerState/stopping', display: 'VM stopping' };
  if (now >= vm.runningAt) return { code: 'PowerState/running', display: 'VM running' };
  return { code: 'PowerState/starting', display: 'VM starting' };
}

export function instanceView(vm: Vm, now: number): Record<string, unknown> {
  const ps = provisioningState(vm, now);
  const power = powerState(vm, now);
  const running = power.code === 'PowerState/running';
  return {
    computerName: vm.osProfile.computerName,
    osName: vm.image.publisher === 'Debian' ? 'debian' : 'ubuntu',
    osVersion: vm.image.publisher === 'Debian' ? '12' : vm.image.exactVersion.split('.').slice(0, 2).join('.'),
    vmAgent: {
      vmAgentVersion: running ? '2.13.1.1' : 'Unknown',
      statuses: running
        ? [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', message: 'Guest Agent is running', time: computeTime(vm.runningAt) }]
        : [{ code: 'ProvisioningState/Unavailable', level: 'Warning', displayStatus: 'Not Ready', message: 'VM status blob is found but not yet populated.', time: computeTime(now) }],
    },
    disks: [{ name: vm.osDisk.name, statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: computeTime(vm.createdAt) }] }],
    hyperVGeneration: 'V2',
    statuses: [
      {
        code: `ProvisioningState/${ps.toLowerCase()}`,
        level: 'Info',
        displayStatus: ps === 'Succeeded' ? 'Provisioning succeeded' : ps,
        ...(ps === 'Succeeded' ? { time: computeTime(vm.busy?.until ?? vm.createdAt) } : {}),
      },
      { code: power.code, level: 'Info', displayStatus: power.display },
    ],
  };
}

export function renderVm(vm: Vm, now: number, opts: { instanceView?: boolean; userData?: boolean } = {}): Record<string, unknown> {
  return {
    name: vm.name,
    id: vm.id,
    type: ARM_TYPES.vm,
    location: vm.location,
    ...tagsField(vm.tags),
    ...(vm.zones ? { zones: [...vm.zones] } : {}),
    etag: vm.etag,
    properties: {
      hardwareProfile: { vmSize: vm.vmSize },
      provisioningState: provisioningState(vm, now),
      vmId: vm.vmId,
      storageProfile: {
        imageReference: { publisher: vm.image.publisher, offer: vm.image.offer, sku: vm.image.sku, version: vm.image.version, exactVersion: vm.image.exactVersion },
        osDisk: {
          osType: 'Linux',
          name: vm.osDisk.name,
          createOption: 'FromImage',
          caching: vm.osDisk.caching,
          managedDisk: { storageAccountType: vm.osDisk.storageAccountType, id: vm.osDisk.id },
          deleteOption: vm.osDisk.deleteOption,
          diskSizeGB: vm.osDisk.diskSizeGB,
        },
        dataDisks: [],
        diskControllerType: 'SCSI',
      },
      osProfile: {
        computerName: vm.osProfile.computerName,
        adminUsername: vm.osProfile.adminUsername,
        linuxConfiguration: {
          disablePasswordAuthentication: vm.osProfile.disablePasswordAuthentication,
          ...(vm.osProfile.publicKeys.length ? { ssh: { publicKeys: vm.osProfile.publicKeys.map((k) => ({ ...k })) } } : {}),
          provisionVMAgent: true,
          patchSettings: { patchMode: 'ImageDefault', assessmentMode: 'ImageDefault' },
          enableVMAgentPlatformUpdates: false,
        },
        secrets: [],
        allowExtensionOperations: true,
        requireGuestProvisionSignal: true,
      },
      networkProfile: {
        networkInterfaces: vm.nics.map((n) => ({ id: n.id, properties: { ...(n.primary !== undefined ? { primary: n.primary } : {}), deleteOption: n.deleteOption } })),
      },
      ...(opts.userData && vm.userData ? { userData: vm.userData } : {}),
      ...(opts.instanceView ? { instanceView: instanceView(vm, now) } : {}),
      timeCreated: computeTime(vm.createdAt),
    },
  };
}

export const required = (path: string): ArmError => invalidParameter(`Required parameter '${path}' is missing (null).`, path);

export function obj(o: Record<string, unknown>, key: string, path: string): Record<string, unknown> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidParameter(`The value of parameter ${path} is invalid.`, path);
  return v;
}

export function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** OpenSSH public key check: `ssh-rsa` (≥ 2048-bit modulus) or `ssh-ed25519`. */
export function isValidSshPublicKey(keyData: string): boolean {
  const parts = keyData.trim().split(/\s+/);
  if (parts.length < 2 || !isBase64(parts[1])) return false;
  const blob = Buffer.from(parts[1], 'base64');
  const readString = (off: number): [Buffer, number] | undefined => {
    if (off + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(off);
    if (off + 4 + len > blob.length) return undefined;
    return [blob.subarray(off + 4, off + 4 + len), off + 4 + len];
  };
  const t = readString(0);
  if (!t || t[0].toString() !== parts[0]) return false;
  if (parts[0] === 'ssh-ed25519') {
    const k = readString(t[1]);
    return k !== undefined && k[0].length === 32 && k[1] === blob.length;
  }
  if (parts[0] === 'ssh-rsa') {
    const e = readString(t[1]);
    const n = e && readString(e[1]);
    if (!n) return false;
    const modulus = n[0][0] === 0 ? n[0].subarray(1) : n[0];
    return modulus.length * 8 >= 2048;
  }
  return false;
}

export function immutableShape(v: { computerName: string; adminUsername: string; customData?: string; image: unknown; zones?: string[] }): string {
  return JSON.stringify(v);
}

export function putVm(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) || /[.-]$/.test(name)) {
    throw new ArmError(400, 'InvalidParameter', `The VM name '${name}' is invalid. It can be 1–64 characters of letters, digits, '.', '-' and '_', must start with a letter or digit and cannot end with '.' or '-'.`, { target: 'vmName' });
  }
  const body = requireBody(call.body);
  const id = vmIdOf(call, rg, name);
  const existing = env.state.get(id) as Vm | undefined;
  if (existing?.deleting) throw new ArmError(409, 'OperationNotAllowed', `Operation 'PUT' is not allowed on VM '${existing.name}' since the VM is marked for deletion. You can only retry the Delete operation (or wait for an ongoing one to complete).`);
  const location = requireLocation(body, ARM_TYPES.vm);
  if (existing && existing.location !== location) {
    throw new ArmError(400, 'InvalidResourceLocation', `The resource '${name}' already exists in location '${existing.location}' in resource group '${rg.name}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`);
  }
  const tags = parseTags(body.tags);
  let zones: string[] | undefined;
  if (body.zones !== undefined && body.zones !== null) {
    zones = optStringArray(body, 'zones', '');
    const allowed = ZONES[location] ?? [];
    if (zones.length > 1) throw invalidParameter('A virtual machine can be placed in one availability zone only.', 'zones');
    const bad = zones.find((z) => !allowed.includes(z));
    if (bad !== undefined) throw invalidParameter(`The zone(s) '${bad}' for resource 'Microsoft.Compute/virtualMachines/${name}' is not supported. The supported zones for location '${location}' are '${allowed.join(',')}'`, 'zones');
  }
  const p = obj(body, 'properties', 'properties');
  if (!p) throw required('properties');
  const hw = obj(p, 'hardwareProfile', 'hardwareProfile');
  const vmSize = hw ? optString(hw, 'vmSize', 'hardwareProfile') : undefined;
  if (!vmSize) throw required('hardwareProfile.vmSize');
  const cores = Object.entries(VM_SIZES).find(([k]) => k.toLowerCase() === vmSize.toLowerCase());
  if (!cores) {
    throw invalidParameter(`The requested VM size '${vmSize}' is not valid in the current context. Valid sizes in location '${location}' are: ${Object.keys(VM_SIZES).join(', ')}.`, 'vmSize');
  }
  // Storage profile.
  const sp = obj(p, 'storageProfile', 'storageProfile');
  const ir = sp ? obj(sp, 'imageReference', 'storageProfile.imageReference') : undefined;
  if (!ir) throw required('storageProfile.imageReference');
  const publisher = optString(ir, 'publisher', 'imageReference');
  const offer = optString(ir, 'offer', 'imageReference');
  const sku = optString(ir, 'sku', 'imageReference');
  const version = optString(ir, 'version', 'imageReference') ?? 'latest';
  if (!publisher || !offer || !sku) throw invalidParameter('The value of parameter imageReference is invalid.', 'imageReference');
  const image = IMAGES.find((i) => eqi(i.publisher, publisher) && eqi(i.offer, offer) && i.skus.some((s) => eqi(s, sku)));
  if (!image || (version !== 'latest' && !/^\d+\.\d+\.\d+$/.test(version))) {
    throw new ArmError(404, 'PlatformImageNotFound', `The platform image '${publisher}:${offer}:${sku}:${version}' is not available. Verify that all fields in the storage profile are correct. For more details about storage profile information, please refer to https://aka.ms/storageprofile`);
  }
  const od = sp ? obj(sp, 'osDisk', 'storageProfile.osDisk') : undefined;
  const createOption = od ? optEnum(od, 'createOption', ['FromImage', 'Attach', 'Empty', 'Copy', 'Restore'] as const, 'osDisk') : 'FromImage';
  if (createOption !== 'FromImage') throw invalidParameter(`The value '${String(createOption)}' of parameter 'osDisk.createOption' is not supported by the sandbox; use FromImage.`, 'osDisk.createOption');
  const deleteOption = (od ? optEnum(od, 'deleteOption', ['Delete', 'Detach'] as const, 'osDisk') : undefined) ?? 'Detach';
  const caching = (od ? optEnum(od, 'caching', ['None', 'ReadOnly', 'ReadWrite'] as const, 'osDisk') : undefined) ?? 'ReadWrite';
  const md = od ? obj(od, 'managedDisk', 'osDisk.managedDisk') : undefined;
  const premiumCapable = /^Standard_[A-Z]+\d+[a-z]*s/.test(cores[0]) || cores[0].startsWith('Standard_B');
  const storageAccountType = (md ? optEnum(md, 'storageAccountType', ['Standard_LRS', 'Premium_LRS', 'StandardSSD_LRS', 'UltraSSD_LRS', 'Premium_ZRS', 'StandardSSD_ZRS', 'PremiumV2_LRS'] as const, 'managedDisk') : undefined)
    ?? (premiumCapable ? 'Premium_LRS' : 'Standard_LRS');
  if (storageAccountType.startsWith('Premium') && !premiumCapable) {
    throw invalidParameter(`Requested operation cannot be performed because the VM size ${cores[0]} does not support the storage account type ${storageAccountType} of disk '${name}_OsDisk'. Consider updating the VM to a size that supports Premium storage.`, 'osDisk.managedDisk.storageAccountType');
  }
  const diskSizeRaw = od?.diskSizeGB;
  if (diskSizeRaw !== undefined && (typeof diskSizeRaw !== 'number' || diskSizeRaw < 30 || diskSizeRaw > 4095)) {
    throw invalidParameter(`The specified disk size ${String(diskSizeRaw)} GB is smaller than the size of the corresponding disk in the VM image: 30 GB. This is not allowed. Please choose equal or greater size or do not specify an explicit size.`, 'osDisk.diskSizeGB');
  }
  // OS profile.
  const os = obj(p, 'osProfile', 'osProfile');
  if (!os) throw required('osProfile');
  const computerName = optString(os, 'computerName', 'osProfile') ?? name;
  if (computerName.length > 64 || /[`~!@#$%^&*()=+_[\]{}\\|;:'",<>/?]/.test(computerName) || /^\d+$/.test(computerName) || computerName.startsWith('-')) {
    throw invalidParameter('Linux host name cannot exceed 64 characters in length or contain the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; : \' " , < > / ?.', 'computerName');
  }
  const adminUsername = optString(os, 'adminUsername', 'osProfile');
  if (!adminUsername) throw required('adminUsername');
  if (DISALLOWED_ADMIN_NAMES.has(adminUsername.toLowerCase())) throw invalidParameter('The Admin Username specified is not allowed.', 'adminUsername');
  if (adminUsername.length > 64 || !/^[a-z_][a-z0-9_.-]*$/i.test(adminUsername)) {
    throw invalidParameter('The value of parameter adminUsername is invalid. Linux user names must start with a letter or underscore and contain only letters, digits, underscores, hyphens and periods, up to 64 characters.', 'adminUsername');
  }
  const lc = obj(os, 'linuxConfiguration', 'linuxConfiguration') ?? {};
  const dpa = lc.disablePasswordAuthentication;
  if (dpa !== undefined && dpa !== null && typeof dpa !== 'boolean') throw invalidParameter('The value of parameter linuxConfiguration.disablePasswordAuthentication is invalid.', 'linuxConfiguration.disablePasswordAuthentication');
  const ssh = obj(lc, 'ssh', 'linuxConfiguration.ssh');
  const rawKeys = ssh?.publicKeys ?? [];
  if (!Array.isArray(rawKeys)) throw invalidParameter('The value of parameter linuxConfiguration.ssh.publicKeys is invalid.', 'linuxConfiguration.ssh.publicKeys');
  const publicKeys = rawKeys.map((k) => {
    if (!isObject(k)) throw invalidParameter('The value of parameter linuxConfiguration.ssh.publicKeys is invalid.', 'linuxConfiguration.ssh.publicKeys');
    const path = optString(k, 'path', 'publicKeys');
    const keyData = optString(k, 'keyData', 'publicKeys');
    if (path !== `/home/${adminUsername}/.ssh/authorized_keys`) throw invalidParameter('The value of parameter linuxConfiguration.ssh.publicKeys.path is invalid.', 'linuxConfiguration.ssh.publicKeys.path');
    if (!keyData || !isValidSshPublicKey(keyData)) throw invalidParameter('The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.', 'linuxConfiguration.ssh.publicKeys.keyData');
    return { path, keyData };
  });
  const adminPassword = optString(os, 'adminPassword', 'osProfile');
  if (dpa === true) {
    if (!publicKeys.length) throw invalidParameter('Authentication using either SSH or by user name and password must be enabled in Linux profile.', 'linuxConfiguration');
    if (adminPassword !== undefined) throw invalidParameter('Admin password cannot be specified when password authentication is disabled.', 'adminPassword');
  } else if (!adminPassword) {
    throw required('adminPassword');
  }
  const customData = optString(os, 'customData', 'osProfile');
  if (customData !== undefined && (!isBase64(customData) || customData.length > 87380)) {
    throw invalidParameter('Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters.', 'customData');
  }
  const userData = optString(p, 'userData', 'properties');
  if (userData !== undefined && (!isBase64(userData) || userData.length > 87380)) {
    throw invalidParameter('UserData must be in Base64 encoding and with a maximum length of 87380 characters.', 'userData');
  }
  // Network profile.
  const np = obj(p, 'networkProfile', 'networkProfile');
  const rawNics = np?.networkInterfaces;
  if (!Array.isArray(rawNics) || rawNics.length === 0) throw required('networkProfile.networkInterfaces');
  const nics: VmNicRef[] = rawNics.map((r, i) => {
    const path = `networkProfile.networkInterfaces[${i}]`;
    if (!isObject(r)) throw invalidParameter(`The value of parameter ${path} is invalid.`, path);
    const nicId = optString(r, 'id', path);
    if (!nicId) throw required(`${path}.id`);
    const rp = obj(r, 'properties', `${path}.properties`) ?? {};
    const primary = rp.primary;
    if (primary !== undefined && primary !== null && typeof primary !== 'boolean') throw invalidParameter(`The value of parameter ${path}.properties.primary is invalid.`, `${path}.properties.primary`);
    const nic = env.state.get(nicId);
    if (!nic || nic.kind !== 'nic' || nic.deleting) {
      throw new ArmError(400, 'InvalidParameter', `Network interface ${nicId} referenced by virtual machine ${id} was not found.`, { target: 'networkInterfaces' });
    }
    if (nic.location !== location) {
      throw invalidParameter(`Network interface ${nic.id} is in location '${nic.location}', but the virtual machine is in location '${location}'. They must be in the same location.`, 'networkInterfaces');
    }
    const owner = env.state.ofKind(call.account.subscriptionId, 'vm').find((v) => !eqi(v.id, id) && v.nics.some((x) => eqi(x.id, nic.id)));
    if (owner) {
      throw new ArmError(400, 'NicInUse', `Network interface ${nic.id} is already used by virtual machine ${owner.id}. A network interface can be attached to one virtual machine only.`);
    }
    return { id: nic.id, ...(typeof primary === 'boolean' ? { primary } : {}), deleteOption: optEnum(rp, 'deleteOption', ['Delete', 'Detach'] as const, `${path}.properties`) ?? 'Detach' };
  });
  if (nics.length > 1 && nics.filter((n) => n.primary).length !== 1) {
    throw invalidParameter(`Virtual machine ${name} has multiple network interfaces; exactly one of them must be marked as primary.`, 'networkInterfaces');
  }
  const imageRef = { publisher: image.publisher, offer: image.offer, sku: image.skus.find((s) => eqi(s, sku)) ?? sku, version };
  const shape = immutableShape({ computerName, adminUsername, customData, image: imageRef, zones });
  if (existing && existing.immutable !== shape) {
    const prev = JSON.parse(existing.immutable) as Record<string, unknown>;
    const next = JSON.parse(shape) as Record<string, unknown>;
    const changed = Object.keys(next).find((k) => JSON.stringify(prev[k]) !== JSON.stringify(next[k])) ?? 'osProfile';
    const property = { computerName: 'osProfile.computerName', adminUsername: 'osProfile.adminUsername', customData: 'osProfile.customData', image: 'imageReference', zones: 'zones' }[changed] ?? changed;
    throw new ArmError(409, 'PropertyChangeNotAllowed', `Changing property '${property}' is not allowed.`, { target: property });
  }
  // Regional cores quota.
  const used = env.state.ofKind(call.account.subscriptionId, 'vm')
    .filter((v) => v.location === location && !eqi(v.id, id))
    .reduce((n, v) => n + (VM_SIZES[v.vmSize] ?? 0), 0);
  if (used + cores[1] > REGIONAL_CORES_QUOTA) throw coresQuotaError(location, used, cores[1]);

  const busy = { state: existing ? ('Updating' as const) : ('Creating' as const), until: call.now + env.ctx.latencyMs('instance.create') };
  let vm: Vm;
  if (existing) {
    vm = { ...existing, tags, vmSize: cores[0], nics, etag: `"${Number(existing.etag.replace(/"/g, '')) + 1}"`, busy };
  } else {
    const diskName = `${name}_OsDisk_1_${randomUUID().replace(/-/g, '')}`;
    const diskId = `/subscriptions/${call.account.subscriptionId}/resourceGroups/${rg.name.toUpperCase()}/providers/${NS}/disks/${diskName}`;
    vm = {
      kind: 'vm', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: '"1"', resourceGuid: randomUUID(),
      createdAt: call.now, createdAtMs: call.clock, busy, vmId: randomUUID(), vmSize: cores[0], ...(zones ? { zones } : {}),
      image: { ...imageRef, exactVersion: version === 'latest' ? image.latest : version },
      osDisk: { id: diskId, name: diskName, deleteOption, storageAccountType, caching, diskSizeGB: typeof diskSizeRaw === 'number' ? diskSizeRaw : 30 },
      osProfile: { computerName, adminUsername, customData, disablePasswordAuthentication: dpa === true, publicKeys },
      nics, userData, runningAt: busy.until + env.ctx.latencyMs('instance.boot'), booted: false, immutable: shape,
    };
    const disk: Disk = {
      kind: 'disk', id: diskId, subscriptionId: vm.subscriptionId, resourceGroup: rg.name, name: diskName, location, tags: {}, etag: '"1"',
      resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, managedBy: id, sizeGB: vm.osDisk.diskSizeGB, sku: storageAccountType, ...(zones ? { zones } : {}),
      imageId: `/Subscriptions/${vm.subscriptionId}/Providers/Microsoft.Compute/Locations/${location}/Publishers/${image.publisher}/ArtifactTypes/VMImage/Offers/${image.offer}/Skus/${imageRef.sku}/Versions/${vm.image.exactVersion}`,
      hyperVGeneration: image.gen1Skus.includes(imageRef.sku) ? 'V1' : 'V2', architecture: image.arm64Skus.includes(imageRef.sku) ? 'Arm64' : 'x64',
    };
    env.state.put(disk);
    const booting = vm;
    env.state.scheduler.schedule(vm.runningAt, () => boot(env, booting));
  }
  env.state.put(vm);
  const op = env.state.newOperation(call.account.subscriptionId, busy.until - call.now, call.now);
  return {
    status: existing ? 200 : 201,
    body: renderVm(vm, AT_ACCEPTANCE),
    headers: { 'Azure-AsyncOperation': asyncOperationUrl(call, NS, location, op) },
  };
}

/** 409 OperationNotAllowed, the Compute RP's "Total Regional Cores" quota error. */
export function coresQuotaError(location: string, used: number, extra: number): ArmError {
  return new ArmError(
    409,
    'OperationNotAllowed',
    `Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Additional details - Deployment Model: Resource Manager, Location: ${location}, Current Limit: ${REGIONAL_CORES_QUOTA}, Current Usage: ${used}, Additional Required: ${extra}, (Minimum) New Limit Required: ${used + extra}. Submit a request for Quota increase at https://aka.ms/ProdportalCRP/#blade/Microsoft_Azure_Capacity/UsageAndQuota.ReactView/Parameters/%7B%22subscriptionId%22:%22%22,%22command%22:%22openQuotaApprovalBlade%22%7D by specifying parameters listed in the ‘Details’ section for deployment to succeed. Please read more about quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/regional-quota-requests`,
  );
}

/**
 * The VM is running: what cloud-init would do happens now. `created` is the VM as its create left it; a PUT that
 * updated it meanwhile (tags, size: a client retrying its create) replaced the stored object but not the VM, which
 * boots all the same, as on Azure. A VM deleted (or deleted and made again: another `vmId`) does not.
 */
export function boot(env: Env, created: Vm): void {
  const vm = env.state.get(created.id);
  if (vm?.kind !== 'vm' || vm.vmId !== created.vmId || vm.deleting || vm.booted) return;
  vm.booted = true;
  const primary = vm.nics.find((n) => n.primary) ?? vm.nics[0];
  const nic = env.state.get(primary?.id) as Nic | undefined;
  const cfg = nic?.ipConfigs.find((c) => c.primary) ?? nic?.ipConfigs[0];
  const pip = env.state.get(cfg?.publicIpId);
  const userData = vm.osProfile.customData ?? vm.userData;
  env.ctx.vms.boot({
    cloud: 'azure',
    instanceId: vm.id,
    diskId: vm.vmId,
    userData: userData ? Buffer.from(userData, 'base64').toString('utf8') : '',
    privateIp: cfg?.privateIp ?? '',
    ...(pip?.kind === 'pip' && pip.ipAddress ? { publicIp: pip.ipAddress } : {}),
    // cloud-provider-azure's provider id: azure:// + the VM's ARM id
    machine: { instanceType: vm.vmSize, vcpu: VM_SIZES[vm.vmSize] ?? 2, memoryMiB: VM_SIZE_MEMORY_MIB[vm.vmSize] ?? 4096, arch: findVmSize(vm.vmSize)?.arch === 'Arm64' ? 'arm64' : 'amd64', providerID: `azure://${vm.id}` },
  });
}

/** Removes a VM now, with what its delete options say goes with it (OS disk, NICs and their public IPs). */
export function removeVm(env: Env, vm: Vm): void {
  env.ctx.vms.stop(vm.id);
  env.state.remove(vm);
  const disk = env.state.get(vm.osDisk.id);
  if (disk?.kind === 'disk') {
    if (vm.osDisk.deleteOption === 'Delete') env.state.remove(disk);
    else disk.managedBy = undefined;
  }
  for (const ref of vm.nics) {
    const nic = env.state.get(ref.id);
    if (ref.deleteOption !== 'Delete' || nic?.kind !== 'nic') continue;
    removeNetwork(env, nic);
    for (const cfg of nic.ipConfigs) {
      const pip = env.state.get(cfg.publicIpId);
      if (cfg.publicIpDeleteOption === 'Delete' && pip?.kind === 'pip') removeNetwork(env, pip);
    }
  }
}

export function deleteVm(env: Env, call: Call, vm: Vm | undefined): Reply {
  if (!vm) return { status: 204 };
  const o = startOperation(env, call, 'instance.delete', () => {
    if (env.state.get(vm.id) === vm) removeVm(env, vm);
  });
  vm.deleting = true;
  vm.busy = { state: 'Deleting', until: o.doneAt };
  env.ctx.vms.stop(vm.id);
  return deleteAccepted(call, NS, vm.location, o);
}

export function expandOptions(call: Call): { instanceView?: boolean; userData?: boolean } {
  const e = call.query.$expand;
  if (e === undefined) return {};
  if (e === 'instanceView') return { instanceView: true };
  if (e === 'userData') return { userData: true };
  throw invalidParameter(`The value '${e}' of parameter '$expand' is invalid. Allowed values are 'instanceView', 'userData'.`, '$expand');
}

export function listOptions(call: Call): { statusOnly: boolean } {
  if (call.query.$expand !== undefined && call.query.$filter === undefined) {
    throw invalidParameter("The $expand=instanceView query parameter can only be specified together with a valid $filter ('virtualMachineScaleSet/id' eq '…').", '$expand');
  }
  if (call.query.$filter !== undefined && !/^virtualMachineScaleSet\/id eq '[^']+'$/i.test(call.query.$filter)) {
    throw invalidParameter(`The value '${call.query.$filter}' of parameter '$filter' is invalid. Allowed: virtualMachineScaleSet/id eq '<vmss id>'.`, '$filter');
  }
  const so = call.query.statusOnly;
  if (so !== undefined && so !== 'true' && so !== 'false') throw invalidParameter(`The value '${so}' of parameter 'statusOnly' is invalid.`, 'statusOnly');
  return { statusOnly: so === 'true' };
}

/** `statusOnly=true`: each VM's run-time status only (no model: no tags, profiles). */
export const renderStatusOnly = (vm: Vm, now: number) => ({ name: vm.name, id: vm.id, type: ARM_TYPES.vm, location: vm.location, properties: { instanceView: instanceView(vm, now) } });

/** `GET …/virtualMachines` in a resource group, or `GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines[?statusOnly=true]` (List All). */
async function listVms(env: Env, call: Call, rg: ResourceGroup | undefined): Promise<Reply> {
  const { statusOnly } = listOptions(call);
  await env.ctx.delay('read');
  const sub = call.account.subscriptionId;
  const vms = env.state.ofKind(sub, 'vm').filter((v) => (!rg || eqi(v.resourceGroup, rg.name)) && seen(env, v));
  const path = rg ? `/subscriptions/${sub}/resourceGroups/${rg.name}/providers/${NS}/virtualMachines` : `/subscriptions/${sub}/providers/${NS}/virtualMachines`;
  return page(call, path, vms.map((v) => (statusOnly ? renderStatusOnly(v, call.now) : renderVm(v, call.now))));
}

/** The VM a call names (`…/virtualMachines/{name}[/…]`), or undefined. */
const vmOf = (c: OpContext): Vm | undefined => c.env.state.get(vmIdOf(c.call, groupOf(c), c.path.names[0])) as Vm | undefined;

/** The VM a read names, as reads see it. @throws ArmError 404 ResourceNotFound */
function seenVm(c: OpContext): Vm {
  const vm = vmOf(c);
  if (!vm || !seen(c.env, vm)) throw resourceNotFound(ARM_TYPES.vm, c.path.names[0], groupOf(c).name);
  return vm;
}

export const VM_OPERATIONS: ArmOperationTable = {
  'LIST Microsoft.Compute/virtualMachines': read(({ env, call, group }) => listVms(env, call, group)),
  'GET Microsoft.Compute/virtualMachines': read(async (c) => {
    const opts = expandOptions(c.call);
    await c.env.ctx.delay('read');
    return { status: 200, body: renderVm(seenVm(c), c.call.now, opts) };
  }),
  /** Virtual Machines - Instance View: https://learn.microsoft.com/rest/api/compute/virtual-machines/instance-view */
  'GET Microsoft.Compute/virtualMachines/instanceView': read(async (c) => {
    await c.env.ctx.delay('read');
    return { status: 200, body: instanceView(seenVm(c), c.call.now) };
  }),
  'PUT Microsoft.Compute/virtualMachines': { op: 'instance.create', run: (c) => putVm(c.env, c.call, groupOf(c), c.path.names[0]) },
  'PATCH Microsoft.Compute/virtualMachines': {
    op: 'instance.create',
    run: (c) => {
      const vm = vmOf(c);
      if (!vm) throw resourceNotFound(ARM_TYPES.vm, c.path.names[0], groupOf(c).name);
      const body = requireBody(c.call.body);
      if (body.tags !== undefined) vm.tags = parseTags(body.tags);
      return { status: 200, body: renderVm(vm, c.call.now) };
    },
  },
  'DELETE Microsoft.Compute/virtualMachines': { op: 'instance.delete', run: (c) => deleteVm(c.env, c.call, vmOf(c)) },
  /** Virtual Machines - List Available Sizes: every size of the catalogue (the sandbox has no host constraints). */
  'LIST Microsoft.Compute/virtualMachines/vmSizes': read(async (c) => {
    await c.env.ctx.delay('read');
    seenVm(c);
    return {
      status: 200,
      body: { value: VM_SIZE_LIST.map(renderVmSize) },
    };
  }),
};
