import { createPublicKey, generateKeyPairSync, KeyObject, randomBytes, randomInt, verify as verifySignature } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { GcpCredentials } from '@skyweave/cloud-adapters';
import { insufficientScopes, invalidCredentials, loginRequired } from './errors';

/** The audience Google's OAuth 2.0 token endpoint expects in a JWT-bearer assertion, and the `token_uri` of real key files. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

const SCOPE_CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const SCOPE_COMPUTE = 'https://www.googleapis.com/auth/compute';
const SCOPE_COMPUTE_RO = 'https://www.googleapis.com/auth/compute.readonly';

/** A sandbox service account: one per project (the project is the sandbox account). */
export interface ServiceAccount {
  email: string;
  projectId: string;
  projectNumber: string;
  privateKeyId: string;
  publicKey: KeyObject;
}

interface AccessToken { account: ServiceAccount; scopes: string[]; expiresAt: number }

/** An OAuth 2.0 token-endpoint error: `400 {"error":"invalid_grant","error_description":"…"}`. */
export class OAuthError extends Error {
  constructor(readonly httpStatus: number, readonly error: string, readonly description: string) {
    super(description);
  }
  body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * Service accounts and OAuth 2.0 access tokens, as Google issues them to service-account keys
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest): the client signs a JWT
 * (RS256, iss = client_email, aud = token URL, scope, iat/exp ≤ 1 h) with the key's private key and exchanges it at
 * the token endpoint (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for a bearer access token.
 */
export class GcpAuth {
  private readonly accounts = new Map<string, ServiceAccount>();
  private readonly tokens = new Map<string, AccessToken>();

  /** Makes a project with a service account and a fresh RSA key; returns the key file. */
  createServiceAccount(): { account: ServiceAccount; key: GcpCredentials } {
    const projectId = `sw-sandbox-${randomBytes(3).toString('hex')}`;
    const projectNumber = String(randomInt(100000000000, 999999999999));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = `skyweave@${projectId}.iam.gserviceaccount.com`;
    const privateKeyId = randomBytes(20).toString('hex');
    const account: ServiceAccount = { email, projectId, projectNumber, privateKeyId, publicKey: createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })) };
    this.accounts.set(email, account);
    const key: GcpCredentials = {
      type: 'service_account',
      project_id: projectId,
      private_key_id: privateKeyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: String(randomInt(100000000000, 999999999999)) + String(randomInt(100000000, 999999999)),
      token_uri: GOOGLE_TOKEN_URL,
    };
    return { account, key };
  }

  /**
   * The token endpoint (`POST /token`, form-encoded). `selfUrl` is this endpoint's own URL, also accepted as audience.
   * @throws OAuthError in the endpoint's own shape.
   */
  async exchange(form: Record<string, unknown>, selfUrl: string): Promise<{ access_token: string; expires_in: number; token_type: 'Bearer' }> {
    const grantType = typeof form.grant_type === 'string' ? form.grant_type : '';
    if (grantType !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
    }
    const assertion = form.assertion;
    if (typeof assertion !== 'string' || assertion === '') throw new OAuthError(400, 'invalid_request', 'Missing required parameter: assertion');
    let iss: unknown;
    let kid: string | undefined;
    try {
      iss = decodeJwt(assertion).iss;
      kid = decodeProtectedHeader(assertion).kid;
    } catch {
      throw new OAuthError(400, 'invalid_grant', 'Invalid JWT: Unable to parse the assertion.');
    }
    const account = typeof iss === 'string' ? this.accounts.get(iss) : undefined;
    if (!account) throw new OAuthError(400, 'invalid_grant', 'Invalid grant: account not found');
    if (kid !== undefined && kid !== account.privateKeyId) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(assertion, account.publicKey, { algorithms: ['RS256'], audience: [GOOGLE_TOKEN_URL, selfUrl], clockTolerance: 60 }));
    } catch (e) {
      if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JOSEAlgNotAllowed) {
        throw new OAuthError(400, 'invalid_grant', 'Invalid JWT Signature.');
      }
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud') {
        throw new OAuthError(400, 'invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_TOKEN_URL}`);
      }
      throw new OAuthError(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const iat = payload.iat;
    const exp = payload.exp;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || exp <= iat) {
      throw new OAuthError(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(/\s+/).filter(Boolean) : [];
    if (scopes.length === 0) throw new OAuthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const token = `ya29.c.${randomBytes(48).toString('base64url')}`;
    const expiresIn = 3599;
    this.tokens.set(token, { account, scopes, expiresAt: Date.now() + expiresIn * 1000 });
    return { access_token: token, expires_in: expiresIn, token_type: 'Bearer' };
  }

  /**
   * A self-signed JWT used directly as the bearer token, as Google's client libraries send one to the APIs that
   * accept it (https://google.aip.dev/auth/4111; `@google-cloud/billing` does): RS256, signed with a sandbox
   * service account's key (`kid` = its private_key_id), `iss` = `sub` = the account, lifetime ≤ 1 h and not expired,
   * with a `scope` claim (or an `aud` of `https://<api>.googleapis.com/`, which grants cloud-platform). Undefined when
   * the token is not one (the caller answers 401).
   */
  private selfSignedJwt(token: string): AccessToken | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
      const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      const account = typeof payload.iss === 'string' ? this.accounts.get(payload.iss) : undefined;
      if (!account || header.alg !== 'RS256' || (header.kid !== undefined && header.kid !== account.privateKeyId)) return undefined;
      if (payload.sub !== undefined && payload.sub !== payload.iss) return undefined;
      if (!verifySignature('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2], 'base64url'))) return undefined;
      const { iat, exp } = payload;
      const now = Date.now() / 1000;
      if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= iat || exp - iat > 3600 || exp < now - 60 || iat > now + 60) return undefined;
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(/\s+/).filter(Boolean)
        : typeof payload.aud === 'string' && /^https:\/\/[a-z0-9-]+\.googleapis\.com\/$/.test(payload.aud) ? [SCOPE_CLOUD_PLATFORM] : [];
      return scopes.length ? { account, scopes, expiresAt: exp * 1000 } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The account behind a request's bearer token (an access token from `/token`, or a self-signed JWT), checked for the Compute scopes.
   * @throws GcpHttpError 401 `UNAUTHENTICATED` (missing/unknown/expired token), 403 insufficient scopes.
   */
  authenticate(headers: IncomingHttpHeaders, readOnly: boolean): ServiceAccount {
    const h = headers.authorization;
    if (!h) throw loginRequired();
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const t = m ? (this.tokens.get(m[1]) ?? this.selfSignedJwt(m[1])) : undefined;
    if (!t || t.expiresAt < Date.now()) throw invalidCredentials();
    const ok = t.scopes.includes(SCOPE_CLOUD_PLATFORM) || t.scopes.includes(SCOPE_COMPUTE) || (readOnly && t.scopes.includes(SCOPE_COMPUTE_RO));
    if (!ok) throw insufficientScopes();
    return t.account;
  }
}
