import { FIREWALL_PLAN, ruleKeys } from '@skyweave/domain';
import { CloudError } from '../errors';
import { azureNames, classify, errorFacts, fromNsgRules, generateSshPublicKey, parseArmId, toCloudError, toNsgRules, vmState } from './azure-helpers';

describe('Azure adapter helpers', () => {
  it('names a cluster\'s resources from its id', () => {
    const n = azureNames('3F0C1A2B-0000-4000-8000-000000000000');
    expect(n.resourceGroup).toBe('sw-3f0c1a2b-rg');
    expect(n.nsg('master')).toBe('sw-3f0c1a2b-master-nsg');
  });

  it('parses ARM ids, case-insensitively on keywords', () => {
    expect(parseArmId('/subscriptions/s/resourcegroups/RG/providers/Microsoft.Network/virtualNetworks/v/subnets/x')).toEqual({
      subscriptionId: 's', resourceGroup: 'RG', namespace: 'Microsoft.Network', type: 'virtualNetworks', name: 'v', child: { type: 'subnets', name: 'x' },
    });
    expect(parseArmId('sw-missing-0')).toBeUndefined();
    expect(parseArmId('/subscriptions/s/resourceGroups/rg')).toBeUndefined();
  });

  it('turns the firewall plan into NSG rules and back', () => {
    for (const role of ['master', 'worker'] as const) {
      const rules = toNsgRules(FIREWALL_PLAN[role]);
      expect(rules.map((r) => r.priority)).toEqual(rules.map((_, i) => 100 + i));
      expect(rules.every((r) => r.direction === 'Inbound' && r.access === 'Allow' && r.sourceAddressPrefix === '0.0.0.0/0')).toBe(true);
      expect(ruleKeys(fromNsgRules(rules))).toEqual(ruleKeys(FIREWALL_PLAN[role]));
    }
    expect(toNsgRules(FIREWALL_PLAN.worker)[1]).toMatchObject({ protocol: 'Tcp', destinationPortRange: '30000-32767' });
  });

  it('reads NSG rules as the cloud may hold them', () => {
    const rules = fromNsgRules([
      { protocol: '*', destinationPortRanges: ['80', '443'], sourceAddressPrefixes: ['10.0.0.0/8'], access: 'Allow', direction: 'Inbound' },
      { protocol: 'Tcp', destinationPortRange: '22', sourceAddressPrefix: '*', access: 'Deny', direction: 'Inbound' },
      { protocol: 'Tcp', destinationPortRange: '22', sourceAddressPrefix: '*', access: 'Allow', direction: 'Outbound' },
      { protocol: 'Icmp', destinationPortRange: '*', sourceAddressPrefix: '*', access: 'Allow', direction: 'Inbound' },
    ]);
    expect(ruleKeys(rules)).toEqual(['tcp:443-443:10.0.0.0/8', 'tcp:80-80:10.0.0.0/8', 'udp:443-443:10.0.0.0/8', 'udp:80-80:10.0.0.0/8']);
  });

  it('maps provisioning and power states', () => {
    expect(vmState('Creating', undefined)).toBe('pending');
    expect(vmState('Succeeded', 'PowerState/starting')).toBe('pending');
    expect(vmState('Succeeded', 'PowerState/running')).toBe('running');
    expect(vmState('Succeeded', 'PowerState/deallocated')).toBe('stopped');
    expect(vmState('Deleting', 'PowerState/running')).toBe('stopping');
    expect(vmState('Succeeded', undefined)).toBe('running');
  });

  it('classifies ARM and Entra ID failures', () => {
    const rest = (statusCode: number, code: string, message = 'm') => Object.assign(new Error(message), { name: 'RestError', statusCode, code });
    expect(classify(errorFacts(rest(429, 'TooManyRequests')))).toBe('Throttled');
    expect(classify(errorFacts(rest(409, 'OperationNotAllowed', 'Operation could not be completed as it results in exceeding approved Total Regional Cores quota.')))).toBe('QuotaExceeded');
    expect(classify(errorFacts(rest(409, 'OperationNotAllowed', 'The VM is marked for deletion')))).toBe('Conflict');
    expect(classify(errorFacts(rest(400, 'PublicIPCountLimitReached')))).toBe('QuotaExceeded');
    expect(classify(errorFacts(rest(409, 'SkuNotAvailable')))).toBe('InsufficientCapacity');
    expect(classify(errorFacts(new Error('The long-running operation has failed. ZonalAllocationFailed. Allocation failed.')))).toBe('InsufficientCapacity');
    expect(classify(errorFacts(rest(401, 'InvalidAuthenticationToken')))).toBe('InvalidCredentials');
    expect(classify(errorFacts(rest(404, 'ResourceGroupNotFound')))).toBe('NotFound');
    expect(classify(errorFacts(rest(404, 'PlatformImageNotFound')))).toBe('InvalidRequest');
    expect(classify(errorFacts(rest(400, 'InUseSubnetCannotBeDeleted')))).toBe('Conflict');
    expect(classify(errorFacts(rest(500, 'InternalServerError')))).toBe('Unavailable');
    expect(classify(errorFacts(rest(400, 'InvalidParameter')))).toBe('InvalidRequest');
    const msal = Object.assign(new Error('invalid_client: Error(s): 7000215 - Description: AADSTS7000215: Invalid client secret provided.'), { name: 'AuthenticationRequiredError' });
    expect(toCloudError(msal)).toMatchObject({ kind: 'InvalidCredentials', code: 'invalid_client' });
    const down = Object.assign(new Error('temporarily_unavailable: try later'), { name: 'AuthenticationRequiredError' });
    expect(toCloudError(down).kind).toBe('Unavailable');
    const same = new CloudError('Conflict', 'azure', 'X', 'y');
    expect(toCloudError(same)).toBe(same);
  });

  it('generates an OpenSSH ed25519 public key', () => {
    const key = generateSshPublicKey('c');
    const [type, blob, comment] = key.split(' ');
    expect(type).toBe('ssh-ed25519');
    expect(Buffer.from(blob, 'base64')).toHaveLength(4 + 11 + 4 + 32);
    expect(comment).toBe('c');
  });
});
