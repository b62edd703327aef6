import type { CloudContext, CloudModule } from '../core/types';

/** STUB — being implemented. Answers 501 to everything. */
export function createAzureCloud(_ctx: CloudContext): CloudModule {
  return {
    cloud: 'azure',
    handler: (_req, res) => { res.statusCode = 501; res.end(); },
    createAccount: () => { throw new Error('azure sandbox not implemented yet'); },
    inventory: () => [],
  };
}
