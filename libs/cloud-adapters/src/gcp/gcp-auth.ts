import { JWT } from 'google-auth-library';
import type { CloudEndpoints, GcpCredentials } from '../cloud-provider';

/** Google's OAuth 2.0 token endpoint: the `token_uri` of real key files and the JWT audience the library signs for. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Scope of every Compute call the adapter makes. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * The token endpoints a key file's `token_uri` may name: Google's, and, with an endpoint override (`endpoints.gcp`,
 * the sandbox), that endpoint's `/token`. Any other value is refused when credentials are added (issue 10, finding 1:
 * the platform would otherwise POST a signed JWT to an address of the caller's choosing, SSRF).
 */
export function allowedTokenUris(endpoints: CloudEndpoints): string[] {
  return endpoints.gcp ? [GOOGLE_TOKEN_URL, sandboxTokenUrl(endpoints.gcp)] : [GOOGLE_TOKEN_URL];
}

/** True when `tokenUri` is absent (Google's is meant) or one of allowedTokenUris(endpoints), compared exactly. */
export function isAllowedTokenUri(tokenUri: string | undefined, endpoints: CloudEndpoints): boolean {
  return tokenUri === undefined || allowedTokenUris(endpoints).includes(tokenUri);
}

const sandboxTokenUrl = (base: string) => new URL('token', base.endsWith('/') ? base : `${base}/`).toString();

/**
 * Where the access token is obtained: with an endpoint override (`endpoints.gcp`, the sandbox), its `/token`
 * (CloudEndpoints: "gcp … also serves the OAuth2 token endpoint"); otherwise Google's. The key file's `token_uri` is
 * never used as a destination (it is only checked when credentials are added, see isAllowedTokenUri), so stored
 * credentials cannot send the signed assertion anywhere else.
 */
export function tokenEndpoint(_credentials: GcpCredentials, endpoints: CloudEndpoints): string {
  return endpoints.gcp ? sandboxTokenUrl(endpoints.gcp) : GOOGLE_TOKEN_URL;
}

/**
 * A service-account JWT client (google-auth-library): signs an RS256 assertion with the key file's private key and
 * exchanges it (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) for an access token, cached until expiry
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
 *
 * The library posts to Google's token URL; when the token endpoint is elsewhere (the sandbox's override), a request interceptor on this client's own transporter sends that one request there instead.
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
