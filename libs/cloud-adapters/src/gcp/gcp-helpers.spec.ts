import { FIREWALL_PLAN, ruleKeys } from '@skyweave/domain';
import { isCloudError } from '../errors';
import { describeFailure, operationFailure, toCloudError } from './gcp-errors';
import { firewallToRules, planToFirewall, sameRules } from './gcp-firewall';
import { descriptionFilter, firewallName, labelFilter, networkName, ownedBy, ownershipDescription, parseDescription, regionOfZone } from './gcp-naming';
import { GCP_NODE_IMAGE, GCP_NODE_IMAGE_ARM64, gcpNodeImage, instanceState } from './gcp-provider';
import { isAllowedTokenUri, tokenEndpoint } from './gcp-auth';

const body = (status: number, reason: string, message = 'm') => ({
  status,
  response: { status, data: JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } }) },
  message,
});

describe('gcp firewall plan', () => {
  it('turns one role into one firewall with allowed entries grouped by protocol', () => {
    expect(planToFirewall(FIREWALL_PLAN.master)).toEqual({
      sourceRanges: ['0.0.0.0/0'],
      allowed: [{ IPProtocol: 'tcp', ports: ['6443'] }, { IPProtocol: 'udp', ports: ['51820'] }],
    });
    expect(planToFirewall(FIREWALL_PLAN.worker)).toEqual({
      sourceRanges: ['0.0.0.0/0'],
      allowed: [{ IPProtocol: 'udp', ports: ['51820', '30000-32767'] }, { IPProtocol: 'tcp', ports: ['30000-32767'] }],
    });
  });

  it('reads a firewall back as the same rules', () => {
    for (const role of ['master', 'worker'] as const) {
      const fw = { name: `x-${role}`, direction: 'INGRESS', ...planToFirewall(FIREWALL_PLAN[role]) };
      expect(ruleKeys(firewallToRules(fw))).toEqual(ruleKeys(FIREWALL_PLAN[role]));
      expect(sameRules(firewallToRules(fw), FIREWALL_PLAN[role])).toBe(true);
    }
    expect(firewallToRules({ direction: 'INGRESS', sourceRanges: ['1.2.3.0/24'], allowed: [{ IPProtocol: 'tcp' }, { IPProtocol: 'icmp' }] }))
      .toEqual([{ protocol: 'tcp', fromPort: 0, toPort: 65535, source: '1.2.3.0/24', description: '' }]);
    expect(firewallToRules({ direction: 'INGRESS', disabled: true, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp' }] })).toEqual([]);
  });

  it('refuses a role whose rules have different sources', () => {
    const rules = [{ ...FIREWALL_PLAN.master[0] }, { ...FIREWALL_PLAN.master[1], source: '10.0.0.0/8' }];
    expect(() => planToFirewall(rules)).toThrow(expect.objectContaining({ kind: 'InvalidRequest' }));
  });
});

describe('gcp naming', () => {
  const id = '1a2b3c4d-0000-4000-8000-000000000001';
  it('names and describes resources', () => {
    expect(networkName(id)).toBe('sw-1a2b3c4d-net');
    expect(firewallName(id, 'master')).toBe('sw-1a2b3c4d-master');
    const d = ownershipDescription(id, { 'skyweave-zone': 'us-east4-a' });
    expect(d).toBe(`skyweave-cluster=${id} skyweave-zone=us-east4-a`);
    expect(parseDescription(d)).toEqual({ 'skyweave-cluster': id, 'skyweave-zone': 'us-east4-a' });
    expect(ownedBy(d, id)).toBe(true);
    expect(ownedBy('skyweave-cluster=other', id)).toBe(false);
    expect(ownedBy(undefined, id)).toBe(false);
  });
  it('builds filters', () => {
    expect(labelFilter('skyweave-cluster', id)).toBe(`labels.skyweave-cluster = "${id}"`);
    expect(descriptionFilter(id)).toBe(`description eq "(.* )?skyweave-cluster=${id}( .*)?"`);
    expect(regionOfZone('us-east4-a')).toBe('us-east4');
  });
});

describe('gcp errors', () => {
  it('classifies Compute error bodies', () => {
    expect(toCloudError(body(403, 'rateLimitExceeded'))).toMatchObject({ kind: 'Throttled', code: 'rateLimitExceeded' });
    expect(toCloudError(body(403, 'quotaExceeded'))).toMatchObject({ kind: 'QuotaExceeded' });
    expect(toCloudError(body(403, 'forbidden'))).toMatchObject({ kind: 'InvalidCredentials' });
    expect(toCloudError(body(404, 'notFound'))).toMatchObject({ kind: 'NotFound' });
    expect(toCloudError(body(409, 'alreadyExists'))).toMatchObject({ kind: 'Conflict', code: 'alreadyExists' });
    expect(toCloudError(body(400, 'resourceInUseByAnotherResource'))).toMatchObject({ kind: 'Conflict' });
    expect(toCloudError(body(400, 'invalid'))).toMatchObject({ kind: 'InvalidRequest' });
    expect(toCloudError(body(503, 'backendError'))).toMatchObject({ kind: 'Unavailable', retryable: true });
    expect(toCloudError(body(401, 'authError'))).toMatchObject({ kind: 'InvalidCredentials' });
  });
  it('classifies token-endpoint and network errors', () => {
    const oauth = { status: 400, response: { status: 400, data: { error: 'invalid_grant', error_description: 'Invalid grant: account not found' } }, message: 'x' };
    expect(toCloudError(oauth)).toMatchObject({ kind: 'InvalidCredentials', code: 'invalid_grant' });
    expect(toCloudError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ kind: 'Unavailable' });
    expect(describeFailure(Object.assign(new Error('gone'), { code: 5 }))).toMatchObject({ httpStatus: 404 });
    expect(isCloudError(toCloudError(new Error('error:1E08010C:DECODER routines::unsupported')), 'InvalidCredentials')).toBe(true);
  });
  it('classifies operation errors', () => {
    expect(operationFailure({ error: { errors: [{ code: 'QUOTA_EXCEEDED', message: "Quota 'CPUS' exceeded." }] } })).toMatchObject({ kind: 'QuotaExceeded' });
    expect(operationFailure({ error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' }] } })).toMatchObject({ kind: 'InsufficientCapacity' });
    expect(operationFailure({ error: { errors: [{ code: 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE' }] } })).toMatchObject({ kind: 'Conflict' });
    expect(operationFailure({ error: { errors: [{ code: 'SOMETHING' }] }, httpErrorStatusCode: 503 })).toMatchObject({ kind: 'Unavailable' });
    expect(operationFailure({})).toBeUndefined();
  });
});

describe('gcp instance state and token endpoint', () => {
  it('maps instance status', () => {
    expect(instanceState('PROVISIONING')).toBe('pending');
    expect(instanceState('STAGING')).toBe('pending');
    expect(instanceState('RUNNING')).toBe('running');
    expect(instanceState('STOPPING')).toBe('stopping');
    expect(instanceState('TERMINATED')).toBe('stopped');
  });
  it('uses the sandbox token endpoint when Compute is overridden', () => {
    const key = { type: 'service_account' as const, project_id: 'p', private_key_id: 'k', private_key: '', client_email: 'a@p.iam.gserviceaccount.com' };
    expect(tokenEndpoint(key, { gcp: 'http://127.0.0.1:4567' })).toBe('http://127.0.0.1:4567/token');
    expect(tokenEndpoint(key, {})).toBe('https://oauth2.googleapis.com/token');
    // a key file's own token_uri is never a destination (issue 10: SSRF); it is only checked when credentials are added
    expect(tokenEndpoint({ ...key, token_uri: 'http://127.0.0.1:9/token' }, {})).toBe('https://oauth2.googleapis.com/token');
    expect(isAllowedTokenUri('http://127.0.0.1:9/token', {})).toBe(false);
    expect(isAllowedTokenUri('https://oauth2.googleapis.com/token', {})).toBe(true);
    expect(isAllowedTokenUri(undefined, {})).toBe(true);
    expect(isAllowedTokenUri('http://127.0.0.1:4567/token', { gcp: 'http://127.0.0.1:4567' })).toBe(true);
    expect(isAllowedTokenUri('http://127.0.0.1:4568/token', { gcp: 'http://127.0.0.1:4567' })).toBe(false);
  });
});

describe('gcp node image', () => {
  it('boots Arm machine types from the arm64 family, the others from amd64', () => {
    expect(gcpNodeImage('t2a-standard-2')).toBe(GCP_NODE_IMAGE_ARM64);
    expect(gcpNodeImage('c4a-highcpu-4')).toBe(GCP_NODE_IMAGE_ARM64);
    expect(gcpNodeImage('e2-standard-2')).toBe(GCP_NODE_IMAGE);
    expect(gcpNodeImage('t2d-standard-2')).toBe(GCP_NODE_IMAGE);
  });
});
