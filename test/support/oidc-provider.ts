import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A real OpenID Connect provider (`oidc-provider`) in this process, for sign-in tests. */
export interface RunningOidcProvider {
  issuer: string;
  /** Which account the next sign-in logs in as (the provider's login page is answered by the test: see below). */
  signInAs(account: { sub: string; email: string; emailVerified?: boolean }): void;
  close(): Promise<void>;
}

/**
 * Starts `oidc-provider` on 127.0.0.1 with one confidential client (`clientId`/`clientSecret`, code flow, PKCE
 * required, `redirectUri`). Its interaction pages (login, consent) are answered by this helper as a user would:
 * it logs in the account given to `signInAs` and grants the requested scopes (`interactionFinished`); everything
 * else (authorization, token, UserInfo, discovery, JWKS, ID token signing) is the provider's own.
 */
export async function startOidcProvider(o: { clientId: string; clientSecret: string; redirectUri: string }): Promise<RunningOidcProvider> {
  const accounts = new Map<string, { sub: string; email: string; emailVerified: boolean }>();
  let next: { sub: string; email: string; emailVerified: boolean } | undefined;
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: o.clientId, client_secret: o.clientSecret, redirect_uris: [o.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    cookies: { keys: ['skyweave-test-cookie-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const a = accounts.get(sub);
      return a ? { accountId: sub, claims: () => ({ sub, email: a.email, email_verified: a.emailVerified }) } : undefined;
    },
  });
  const callback = provider.callback();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) {
      void callback(req, res);
      return;
    }
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        if (!next) throw new Error('signInAs was not called');
        accounts.set(next.sub, next);
        await provider.interactionFinished(req, res, { login: { accountId: next.sub } }, { mergeWithLastSubmission: false });
        return;
      }
      const grant = new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    })().catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String((e as Error).message));
    });
  });
  return {
    issuer,
    signInAs(a) {
      next = { ...a, emailVerified: a.emailVerified ?? true };
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
