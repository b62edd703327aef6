import { JWT } from 'google-auth-library';
import type { CloudEndpoints, GcpCredentials } from '../cloud-provider';

/** Google's OAuth 2.0 token endpoint: the `token_uri` of real key files and the JWT audience the library signs for. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Scope of every Compute call the adapter makes. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * Where the access token is obtained: with an endpoint override (`endpoints.gcp`, the sandbox), its `/token`
 * (CloudEndpoints: "gcp … also serves the OAuth2 token endpoint"); otherwise the key file's `token_uri`
 * (Google's by default).
 */
export function tokenEndpoint(credentials: GcpCredentials, endpoints: CloudEndpoints): string {
  if (endpoints.gcp) return new URL('token', endpoints.gcp.endsWith('/') ? endpoints.gcp : `${endpoints.gcp}/`).toString();
  return credentials.token_uri ?? GOOGLE_TOKEN_URL;
}

/**
 * A service-account JWT client (google-auth-library): signs an RS256 assertion with the key file's private key and
 * exchanges it (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token, cached until expiry
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
 *
 * The library posts to Google's token URL; when the token endpoint is elsewhere (sandbox, or a key file with another
 * `token_uri`), a request interceptor on this client's own transporter sends that one request there instead.
 * One client per provider instance.
 */
export function createAuthClient(credentials: GcpCredentials, endpoints: CloudEndpoints): JWT {
  const jwt = new JWT({
    email: credentials.client_email,
    key: credentials.private_key,
    keyId: credentials.private_key_id,
    scopes: [CLOUD_PLATFORM_SCOPE],
    // Node's own fetch: gaxios would otherwise load node-fetch with a dynamic import(), which fails inside
    // VM-sandboxed runtimes such as Jest. Every request of this client (token exchange and API calls) uses it.
    transporterOptions: { fetchImplementation: globalThis.fetch },
  });
  const target = tokenEndpoint(credentials, endpoints);
  if (target !== GOOGLE_TOKEN_URL) {
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url !== undefined && String(config.url) === GOOGLE_TOKEN_URL) config.url = new URL(target);
        return config;
      },
    });
  }
  return jwt;
}
