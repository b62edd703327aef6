import type { ServerResponse } from 'node:http';
import type { CloudId } from '@skyweave/domain';

/** The media type of the sandbox's own "not implemented" answer: no cloud answers with it. */
export const UNIMPLEMENTED_CONTENT_TYPE = 'application/vnd.skyweave.sandbox-unimplemented+json';

/** The header every such answer carries, naming the operation (tests and logs can grep for it). */
export const UNIMPLEMENTED_HEADER = 'x-skyweave-sandbox-unimplemented';

/** Body of the answer to a call the sandbox does not implement. */
export interface UnimplementedBody {
  sandbox: 'skyweave-cloud-emulator';
  error: 'NotImplementedBySandbox';
  cloud: CloudId;
  /** The operation as the cloud's API reference names it (`DescribeInstanceTypes`, `machineTypes.list`, …). */
  operation: string;
  message: string;
}

/**
 * Raised by a cloud module for a call of the cloud's real API that the sandbox does not serve. The module's error
 * path hands it to {@link sendUnimplemented}; it is never turned into the cloud's own "not found" (issue 15: code
 * that reads "404 ⇒ gone" must not pass against a route the sandbox merely lacks).
 */
export class SandboxUnimplemented extends Error {
  constructor(
    readonly cloud: CloudId,
    readonly operation: string,
  ) {
    super(`The Skyweave sandbox cloud does not implement ${cloud} ${operation}`);
    this.name = 'SandboxUnimplemented';
  }
}

/**
 * Answers a call the sandbox does not implement: HTTP 501 with {@link UnimplementedBody} as
 * `application/vnd.skyweave.sandbox-unimplemented+json` and the `x-skyweave-sandbox-unimplemented` header — a shape no
 * real cloud uses for a missing resource (EC2 answers 400 `InvalidAction` only for names that are not EC2 actions;
 * Compute, ARM and DigitalOcean answer 404 for missing resources). SDKs surface it as an HTTP 501 error, which none
 * of them reads as "not found" (Skyweave's adapters take any 5xx for `Unavailable`, never `NotFound`).
 * Logs one line (stderr, JSON) and records it through `record` (counted at `GET /admin/calls` as `unimplemented`).
 */
export function sendUnimplemented(res: ServerResponse, cloud: CloudId, operation: string, record?: (cloud: CloudId, operation: string) => void): void {
  record?.(cloud, operation);
  process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'sandbox: unimplemented call', cloud, operation })}\n`);
  const body: UnimplementedBody = {
    sandbox: 'skyweave-cloud-emulator',
    error: 'NotImplementedBySandbox',
    cloud,
    operation,
    message: `The Skyweave sandbox cloud does not implement ${cloud} ${operation}. A real ${cloud} API would serve this call; this answer is not "not found". See docs/sandbox-deviations.md.`,
  };
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(501, { 'content-type': UNIMPLEMENTED_CONTENT_TYPE, [UNIMPLEMENTED_HEADER]: operation });
  res.end(JSON.stringify(body));
}
