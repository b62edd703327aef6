import { CloudError } from '../errors';
import { classifyDigitalOceanError, toCloudError } from './digitalocean-errors';

const axiosError = (status: number | undefined, data?: unknown, code?: string) => ({
  isAxiosError: true,
  message: status ? `Request failed with status code ${status}` : 'connect ECONNREFUSED',
  code,
  response: status === undefined ? undefined : { status, data, headers: {} },
});

describe('DigitalOcean error mapping', () => {
  it.each([
    [401, 'unauthorized', 'Unable to authenticate you', 'InvalidCredentials'],
    [403, 'forbidden', 'You do not have access for the attempted action.', 'InvalidCredentials'],
    [403, 'forbidden', 'Can not delete VPC with members', 'Conflict'],
    [409, 'conflict', 'Can not delete VPC with members', 'Conflict'],
    [404, 'not_found', 'The resource you were accessing could not be found.', 'NotFound'],
    [429, 'too_many_requests', 'API Rate limit exceeded.', 'Throttled'],
    [422, 'unprocessable_entity', 'creating this/these droplet(s) will exceed your droplet limit', 'QuotaExceeded'],
    [422, 'unprocessable_entity', 'Size is not available in this region.', 'InsufficientCapacity'],
    [422, 'unprocessable_entity', 'ip_range 10.100.0.0/20 overlaps with the range 10.100.0.0/20 of VPC network x', 'Conflict'],
    [422, 'unprocessable_entity', 'a VPC network named x already exists in region nyc1', 'Conflict'],
    [422, 'unprocessable_entity', 'You specified an invalid size for Droplet creation.', 'InvalidRequest'],
    [400, 'bad_request', 'invalid JSON', 'InvalidRequest'],
    [500, 'server_error', 'Server was unable to give you a response.', 'Unavailable'],
    [503, 'service_unavailable', 'down', 'Unavailable'],
  ])('%i %s "%s" → %s', (status, id, message, kind) => {
    expect(classifyDigitalOceanError(status, id, message)).toBe(kind);
  });

  it('wraps axios errors with the DigitalOcean id as code, and no answer as Unavailable', () => {
    const e = toCloudError(axiosError(429, { id: 'too_many_requests', message: 'API Rate limit exceeded.' }));
    expect(e).toBeInstanceOf(CloudError);
    expect([e?.kind, e?.code, e?.retryable]).toEqual(['Throttled', 'too_many_requests', true]);
    const down = toCloudError(axiosError(undefined, undefined, 'ECONNREFUSED'));
    expect([down?.kind, down?.code]).toEqual(['Unavailable', 'ECONNREFUSED']);
    expect(toCloudError(axiosError(502, '<html>bad gateway</html>'))?.code).toBe('http_502');
    expect(toCloudError(new TypeError('bug'))).toBeUndefined();
  });
});
