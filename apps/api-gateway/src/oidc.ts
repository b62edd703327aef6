import * as client from 'openid-client';
import type { OidcOptions } from './identity';

/** What a sign-in in progress keeps (sealed in a short-lived cookie) between the redirect and the callback. */
export interface PendingOidcLogin { state: string; nonce: string; verifier: string; expiresAt: number }

/** The identity the provider vouched for. */
export interface OidcIdentity { issuer: string; subject: string; email?: string; emailVerified: boolean }

/** Why the provider's answer was refused: a short machine-readable code, never the provider's own text. */
export class OidcError extends Error {
  constructor(readonly code: string) {
    super(`OpenID Connect sign-in failed: ${code}`);
  }
}

/**
 * The authorization-code flow with PKCE (S256), `state` and `nonce` (openid-client v6) against the configured
 * provider. The provider's metadata is discovered on first use (and again after a failure).
 */
export class OidcLogin {
  private config?: Promise<client.Configuration>;

  constructor(private readonly o: OidcOptions) {}

  private configuration(): Promise<client.Configuration> {
    this.config ??= client.discovery(new URL(this.o.issuer), this.o.clientId, this.o.clientSecret, client.ClientSecretBasic(this.o.clientSecret),
      this.o.allowHttp ? { execute: [client.allowInsecureRequests] } : undefined).catch((e: unknown) => {
      this.config = undefined;
      throw e;
    });
    return this.config;
  }

  /**
   * A new sign-in: the provider's authorization URL to redirect the browser to, and what the callback will check.
   * @param ttlMs how long the callback may take, ms.
   * @throws the discovery's error when the provider cannot be reached.
   */
  async start(ttlMs: number): Promise<{ url: string; pending: PendingOidcLogin }> {
    const config = await this.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const pending: PendingOidcLogin = { state: client.randomState(), nonce: client.randomNonce(), verifier, expiresAt: Date.now() + ttlMs };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.o.redirectUri, scope: this.o.scope ?? 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: pending.state, nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  /**
   * Completes a sign-in: exchanges the code of the callback's query (`search`, e.g. `?code=…&state=…&iss=…`) for
   * tokens, checks state, nonce, PKCE and the ID token, and reads the user's email from the UserInfo endpoint when
   * the ID token has none. @throws OidcError (`expired`, `provider-error:<error>`, `rejected`, `no-email`).
   */
  async finish(search: string, pending: PendingOidcLogin): Promise<OidcIdentity> {
    if (pending.expiresAt < Date.now()) throw new OidcError('expired');
    const config = await this.configuration();
    const current = new URL(this.o.redirectUri);
    current.search = search;
    const providerError = current.searchParams.get('error');
    if (providerError) throw new OidcError(`provider-error:${providerError.replace(/[^a-z_]/gi, '').slice(0, 64)}`);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
    } catch {
      throw new OidcError('rejected');
    }
    const claims = tokens.claims();
    if (!claims) throw new OidcError('rejected');
    let email = typeof claims.email === 'string' ? claims.email : undefined;
    let verified = claims.email_verified === true;
    if (!email) {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub).catch(() => undefined);
      email = typeof info?.email === 'string' ? info.email : undefined;
      verified = info?.email_verified === true;
    }
    if (!email) throw new OidcError('no-email');
    return { issuer: claims.iss, subject: claims.sub, email: email.toLowerCase(), emailVerified: verified };
  }
}
