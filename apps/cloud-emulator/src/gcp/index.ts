import type { CloudContext, CloudModule } from '../core/types';

/** STUB — being implemented. Answers 501 to everything. */
export function createGcpCloud(_ctx: CloudContext): CloudModule {
  return {
    cloud: 'gcp',
    handler: (_req, res) => { res.statusCode = 501; res.end(); },
    createAccount: () => { throw new Error('gcp sandbox not implemented yet'); },
    inventory: () => [],
  };
}
