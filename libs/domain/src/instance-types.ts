import { CloudId } from './cloud';

/** An instance type Skyweave offers on a cloud: vCPU, memory in MiB and on-demand price in USD/hour (list prices, us-east). */
export interface InstanceType {
  name: string;
  vcpu: number;
  memoryMiB: number;
  usdPerHour: number;
}

/** Instance type catalogue per cloud. Prices from each cloud's public price list (us-east, Linux, on-demand). */
export const INSTANCE_TYPES: Record<CloudId, readonly InstanceType[]> = {
  aws: [
    { name: 't3.medium', vcpu: 2, memoryMiB: 4096, usdPerHour: 0.0416 },
    { name: 't3.large', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.0832 },
    { name: 'm5.large', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.096 },
    { name: 'm5.xlarge', vcpu: 4, memoryMiB: 16384, usdPerHour: 0.192 },
  ],
  gcp: [
    { name: 'e2-medium', vcpu: 2, memoryMiB: 4096, usdPerHour: 0.0335 },
    { name: 'e2-standard-2', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.067 },
    { name: 'e2-standard-4', vcpu: 4, memoryMiB: 16384, usdPerHour: 0.134 },
  ],
  azure: [
    { name: 'Standard_B2s', vcpu: 2, memoryMiB: 4096, usdPerHour: 0.0416 },
    { name: 'Standard_D2s_v5', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.096 },
    { name: 'Standard_D4s_v5', vcpu: 4, memoryMiB: 16384, usdPerHour: 0.192 },
  ],
  digitalocean: [
    { name: 's-2vcpu-4gb', vcpu: 2, memoryMiB: 4096, usdPerHour: 0.03571 },
    { name: 's-4vcpu-8gb', vcpu: 4, memoryMiB: 8192, usdPerHour: 0.07143 },
  ],
};

/** The default instance type per cloud (2 vCPU, 4–8 GiB: kubeadm's minimum for a control-plane node is 2 vCPU, 2 GiB). */
export const DEFAULT_INSTANCE_TYPE: Record<CloudId, string> = {
  aws: 't3.medium',
  gcp: 'e2-standard-2',
  azure: 'Standard_B2s',
  digitalocean: 's-2vcpu-4gb',
};

export function findInstanceType(cloud: CloudId, name: string): InstanceType | undefined {
  return INSTANCE_TYPES[cloud].find((t) => t.name === name);
}
