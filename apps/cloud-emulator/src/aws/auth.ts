import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { Ec2Error } from './errors';

/**
 * AWS Signature Version 4 checking for the EC2 endpoint (and the Price List API's, service name `pricing`), following "Signing AWS API requests" (SigV4, header form):
 * the `Authorization` header is parsed, the account is found by access key, and the signature is recomputed with
 * the account's secret over exactly the headers the client signed (`@smithy/signature-v4`), then compared.
 */
export interface SignedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface VerifiedCaller<A> {
  account: A;
  accessKeyId: string;
  /** Region from the credential scope: the request's region (EC2 has one endpoint per region). */
  region: string;
}

/** Largest clock skew EC2 accepts (15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTH_RE = /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `20240102T030405Z` → Date, or undefined when malformed. */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return isNaN(d.getTime()) ? undefined : d;
}

/**
 * Verifies a request's SigV4 signature.
 * @param lookup finds the account and its secret by access key id.
 * @param knownRegion whether a region name exists (the credential scope must name one).
 * @throws Ec2Error 401 `MissingAuthenticationToken` (no Authorization header), 400 `IncompleteSignature` (malformed),
 *   401 `AuthFailure` (unknown access key, bad scope), 403 `SignatureDoesNotMatch`, 400 `RequestExpired` (clock skew).
 */
export async function verifySigV4<A>(
  req: SignedRequest,
  lookup: (accessKeyId: string) => { account: A; secretAccessKey: string } | undefined,
  knownRegion: (region: string) => boolean,
  now: Date = new Date(),
  expectedService = 'ec2',
): Promise<VerifiedCaller<A>> {
  const auth = headerValue(req.headers, 'authorization');
  if (!auth) {
    if (req.query['X-Amz-Signature'] !== undefined) {
      // Presigned (query-string) requests are a real SigV4 form, not served by the sandbox.
      throw new Ec2Error(401, 'AuthFailure', 'Query-string (presigned) authentication is not supported by this endpoint.');
    }
    throw new Ec2Error(401, 'MissingAuthenticationToken', 'The request must contain either a valid (registered) AWS access key ID or X.509 certificate.');
  }
  const m = AUTH_RE.exec(auth.trim());
  if (!m) throw new Ec2Error(400, 'IncompleteSignature', 'The request signature does not conform to AWS standards.');
  const [, accessKeyId, scopeDate, region, service, signedHeadersRaw, signature] = m;

  const found = lookup(accessKeyId);
  if (!found) throw new Ec2Error(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials');
  if (service !== expectedService) throw new Ec2Error(401, 'AuthFailure', `Credential should be scoped to correct service: '${expectedService}'.`);
  if (!knownRegion(region)) throw new Ec2Error(401, 'AuthFailure', `Credential should be scoped to a valid region, not '${region}'.`);

  if (headerValue(req.headers, 'x-amz-security-token') !== undefined) {
    // The sandbox issues long-term keys only (AKIA…); a session token cannot belong to them.
    throw new Ec2Error(401, 'AuthFailure', 'The security token included in the request is invalid.');
  }
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host')) {
    throw new Ec2Error(400, 'IncompleteSignature', "'Host' must be a signed header.");
  }
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (!amzDate) throw new Ec2Error(400, 'IncompleteSignature', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) throw new Ec2Error(400, 'IncompleteSignature', `Date must be in ISO-8601 'basic format'. Got '${amzDate}'.`);
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
    throw new Ec2Error(400, 'RequestExpired', `Request has expired. Timestamp date is ${amzDate}`);
  }
  if (amzDate.slice(0, 8) !== scopeDate) {
    throw new Ec2Error(403, 'SignatureDoesNotMatch', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'`);
  }

  const mismatch = () =>
    new Ec2Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');

  const declaredHash = headerValue(req.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex')) throw mismatch();

  const headers: Record<string, string> = {};
  for (const h of signedHeaders) {
    const v = headerValue(req.headers, h);
    if (v === undefined) throw mismatch();
    headers[h] = v;
  }
  const host = headerValue(req.headers, 'host') ?? '';
  const toSign = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: host.replace(/:\d+$/, ''),
    path: req.path,
    query: req.query,
    headers,
    body: req.body,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: found.secretAccessKey },
    region,
    service: expectedService,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const signed = await signer.sign(toSign, { signingDate, signingRegion: region, signingService: expectedService, signableHeaders: new Set(signedHeaders) });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers['authorization']))?.[1] ?? '';
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(String(signed.headers['authorization']))?.[1] ?? '';
  if (expectedHeaders !== signedHeadersRaw || expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw mismatch();
  }
  return { account: found.account, accessKeyId, region };
}
