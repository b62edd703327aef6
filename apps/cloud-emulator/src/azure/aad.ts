import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { ArmError } from './arm-error';
import type { Account, AzureState } from './state';

/** Audiences ARM accepts (the v1 resource URIs of Azure Resource Manager). */
const ARM_AUDIENCES = ['https://management.azure.com/', 'https://management.azure.com', 'https://management.core.windows.net/'];
const ARM_SCOPES = ['https://management.azure.com/.default', 'https://management.azure.com//.default', 'https://management.core.windows.net//.default'];
const TOKEN_LIFETIME_S = 3599;

/** An AAD (Microsoft Entra ID) error answer, OAuth2 shape: `{error, error_description, error_codes, …}`. */
export interface AadError {
  status: number;
  body: Record<string, unknown>;
}

const aadError = (status: number, error: string, aadsts: number, description: string): AadError => {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    },
  };
};

const tenantNotFound = (tenant: string): AadError =>
  aadError(
    400,
    'invalid_request',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );

/**
 * The sandbox's Microsoft Entra ID: the OpenID discovery document and the v2.0 token endpoint
 * (client-credentials grant with a client secret), issuing JWT access tokens for ARM.
 * Reference: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
export class Aad {
  private readonly key = randomBytes(32);

  constructor(private readonly state: AzureState) {}

  private tenant(tenant: string): Account | undefined {
    return this.state.accounts.get(tenant.toLowerCase());
  }

  /** `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 form without `v2.0`). */
  openIdConfiguration(base: string, tenant: string, v2: boolean): { status: number; body: Record<string, unknown> } {
    const acct = this.tenant(tenant);
    if (!acct) {
      const e = tenantNotFound(tenant);
      return { status: 400, body: { ...e.body, error: 'invalid_tenant' } };
    }
    const t = acct.tenantId;
    const oauth = v2 ? `${base}/${t}/oauth2/v2.0` : `${base}/${t}/oauth2`;
    return {
      status: 200,
      body: {
        token_endpoint: `${oauth}/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/${t}/discovery/${v2 ? 'v2.0/' : ''}keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: v2 ? `${base}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
        authorization_endpoint: `${oauth}/authorize`,
        device_authorization_endpoint: `${oauth}/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${oauth}/logout`,
        claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'at_hash', 'c_hash'],
        kerberos_endpoint: `${base}/${t}/kerberos`,
        tenant_region_scope: 'NA',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
        rbac_url: 'https://pas.windows.net',
      },
    };
  }

  /** `POST /{tenant}/oauth2/v2.0/token` with a form body. */
  async token(tenant: string, form: Record<string, string | undefined>, basicAuth: { id: string; secret: string } | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
    const acct = this.tenant(tenant);
    if (!acct) return tenantNotFound(tenant);
    const grant = form.grant_type;
    if (!grant) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (grant !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
    const clientId = form.client_id ?? basicAuth?.id;
    if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const scope = form.scope;
    if (!scope) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
    if (clientId.toLowerCase() !== acct.clientId.toLowerCase()) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${acct.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const secret = form.client_secret ?? basicAuth?.secret;
    if (!secret && !form.client_assertion) {
      return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    if (secret !== acct.clientSecret) {
      return aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${acct.clientId}'.`,
      );
    }
    const scopes = scope.split(/\s+/).filter(Boolean);
    if (scopes.length !== 1 || !ARM_SCOPES.includes(scopes[0].toLowerCase())) {
      const res = scopes.find((s) => !ARM_SCOPES.includes(s.toLowerCase())) ?? scope;
      if (!res.endsWith('/.default')) {
        return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      }
      return aadError(400, 'invalid_resource', 500011, `The resource principal named ${res.replace(/\/?\.default$/, '')} was not found in the tenant named ${acct.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
    }
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ tid: acct.tenantId, appid: acct.clientId, oid: acct.principalId, idtyp: 'app', ver: '1.0', appidacr: '1' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(`https://sts.windows.net/${acct.tenantId}/`)
      .setAudience('https://management.azure.com/')
      .setSubject(acct.principalId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + TOKEN_LIFETIME_S)
      .setJti(randomUUID())
      .sign(this.key);
    return { status: 200, body: { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, ext_expires_in: TOKEN_LIFETIME_S, access_token: accessToken } };
  }

  /**
   * Checks `Authorization: Bearer …` as ARM does.
   * @throws ArmError 401 AuthenticationFailed / InvalidAuthenticationToken / ExpiredAuthenticationToken / InvalidAuthenticationTokenAudience
   */
  async authenticate(headers: IncomingHttpHeaders): Promise<Account> {
    const h = headers.authorization;
    const challenge = { 'WWW-Authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."' };
    if (!h) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", { headers: challenge });
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.", { headers: challenge });
    const invalidToken = (code: string, message: string) =>
      new ArmError(401, code, message, {
        headers: { 'WWW-Authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="${message}"` },
      });
    try {
      const { payload } = await jwtVerify(m[1], this.key, { algorithms: ['HS256'] });
      const aud = typeof payload.aud === 'string' ? payload.aud : undefined;
      if (!aud || !ARM_AUDIENCES.includes(aud)) {
        throw invalidToken('InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource '${aud ?? ''}'. It should exactly match with one of the allowed audiences '${ARM_AUDIENCES.join("','")}'.`);
      }
      const acct = typeof payload.tid === 'string' ? this.tenant(payload.tid) : undefined;
      if (!acct || payload.appid !== acct.clientId) throw invalidToken('InvalidAuthenticationToken', 'The access token is invalid.');
      return acct;
    } catch (e) {
      if (e instanceof ArmError) throw e;
      if (e instanceof joseErrors.JWTExpired) throw invalidToken('ExpiredAuthenticationToken', 'The access token expiry UTC time is earlier than current UTC time.');
      throw invalidToken('InvalidAuthenticationToken', 'The access token is invalid.');
    }
  }
}
