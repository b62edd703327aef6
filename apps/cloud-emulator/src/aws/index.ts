import type { CloudContext, CloudModule } from '../core/types';

/** STUB — being implemented. Answers 501 to everything. */
export function createAwsCloud(_ctx: CloudContext): CloudModule {
  return {
    cloud: 'aws',
    handler: (_req, res) => { res.statusCode = 501; res.end(); },
    createAccount: () => { throw new Error('aws sandbox not implemented yet'); },
    inventory: () => [],
  };
}
