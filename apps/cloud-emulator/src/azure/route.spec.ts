import { SDK_ARM_OPERATIONS } from './arm-operations';
import { NotArmPath, parseArmPath, pathSegments } from './route';

const name = (method: string, path: string) => parseArmPath(method, pathSegments(path), path).call;

describe('ARM call names (route.ts)', () => {
  it('names core, resource group and provider paths as core/calls.ts documents', () => {
    expect(name('GET', '/subscriptions')).toBe('LIST Microsoft.Resources/subscriptions');
    expect(name('GET', '/subscriptions/s')).toBe('GET Microsoft.Resources/subscriptions');
    expect(name('GET', '/subscriptions/s/resourcegroups')).toBe('LIST Microsoft.Resources/resourceGroups');
    expect(name('PUT', '/subscriptions/s/resourcegroups/rg')).toBe('PUT Microsoft.Resources/resourceGroups');
    expect(name('GET', '/subscriptions/s/resourceGroups/rg/resources')).toBe('LIST Microsoft.Resources/resources');
    expect(name('GET', '/subscriptions/s/providers')).toBe('LIST Microsoft.Resources/providers');
    expect(name('GET', '/subscriptions/s/providers/Microsoft.Compute')).toBe('GET Microsoft.Resources/providers');
    expect(name('POST', '/subscriptions/s/providers/Microsoft.Compute/register')).toBe('POST Microsoft.Resources/providers/register');
    expect(name('PUT', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v')).toBe('PUT Microsoft.Network/virtualNetworks');
    expect(name('GET', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets')).toBe('LIST Microsoft.Network/virtualNetworks/subnets');
    expect(name('GET', '/subscriptions/s/providers/Microsoft.Network/virtualNetworks')).toBe('LIST Microsoft.Network/virtualNetworks');
    expect(name('GET', '/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/123')).toBe('GET Microsoft.Compute/locations/operations');
    expect(name('GET', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/instanceView')).toBe('GET Microsoft.Compute/virtualMachines/instanceView');
    expect(name('POST', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/start')).toBe('POST Microsoft.Compute/virtualMachines/start');
    expect(name('GET', '/subscriptions/s/providers/Microsoft.Compute/locations/eastus/publishers/Canonical/artifacttypes/vmimage/offers/o/skus/k/versions'))
      .toBe('LIST Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions');
    expect(() => name('GET', '/foo')).toThrow(NotArmPath);
  });

  it('knows the real operations from the SDKs, with the api-versions they send', () => {
    expect(SDK_ARM_OPERATIONS['LIST Microsoft.Compute/disks']).toContain('2025-01-02');
    expect(SDK_ARM_OPERATIONS['LIST Microsoft.Compute/skus']).toContain('2021-07-01');
    expect(SDK_ARM_OPERATIONS['GET Microsoft.Compute/virtualMachines/instanceView']).toBeDefined();
    expect(SDK_ARM_OPERATIONS['PUT Microsoft.Network/routeTables']).toContain('2025-05-01');
    expect(SDK_ARM_OPERATIONS['LIST Microsoft.Resources/providers']).toContain('2025-04-01');
    expect(SDK_ARM_OPERATIONS['GET Microsoft.Network/fooBars']).toBeUndefined();
    expect(Object.keys(SDK_ARM_OPERATIONS).length).toBeGreaterThan(800);
  });
});
