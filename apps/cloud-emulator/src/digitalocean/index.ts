import type { CloudContext, CloudModule } from '../core/types';

/** STUB — being implemented. Answers 501 to everything. */
export function createDigitalOceanCloud(_ctx: CloudContext): CloudModule {
  return {
    cloud: 'digitalocean',
    handler: (_req, res) => { res.statusCode = 501; res.end(); },
    createAccount: () => { throw new Error('digitalocean sandbox not implemented yet'); },
    inventory: () => [],
  };
}
