/**
 * The console's one way to the API: same origin, the session cookie sent by the browser, the CSRF token copied from
 * its cookie into `X-CSRF-Token` on every write (docs/identity.md), and RFC 9457 problems turned into ApiError.
 */

/** One field the API refused (`errors[]` of a 422 problem). */
export interface FieldError { field: string; rule?: string; message: string }

/** A refused request, as the API explained it (problem `title`, `detail`, field `errors`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: FieldError[],
    readonly type: string | undefined,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

/** The CSRF cookie: `__Host-skyweave_csrf` behind TLS, `skyweave_csrf` on a plain-http sandbox. */
const CSRF_COOKIES = ['__Host-skyweave_csrf', 'skyweave_csrf'];

/** The session's CSRF token, read from its cookie (not HttpOnly by design). */
export function csrfToken(): string | undefined {
  const cookies = new Map(document.cookie.split(';').map((c) => c.trim()).filter(Boolean).map((c) => {
    const eq = c.indexOf('=');
    return [c.slice(0, eq), decodeURIComponent(c.slice(eq + 1))] as const;
  }));
  for (const name of CSRF_COOKIES) {
    const v = cookies.get(name);
    if (v) return v;
  }
  return undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An ApiError from a response that is not 2xx (a problem document when there is one). */
async function problemOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (isRecord(body)) {
    const errors = Array.isArray(body.errors)
      ? body.errors.filter(isRecord).map((e) => ({ field: String(e.field ?? ''), rule: e.rule === undefined ? undefined : String(e.rule), message: String(e.message ?? '') }))
      : [];
    return new ApiError(res.status, String(body.title ?? res.statusText), body.detail === undefined ? undefined : String(body.detail), errors, body.type === undefined ? undefined : String(body.type));
  }
  return new ApiError(res.status, res.statusText || `HTTP ${res.status}`, text.slice(0, 300) || undefined, [], undefined);
}

/** The raw response of a request that succeeded. @throws ApiError otherwise. */
export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'The API could not be reached', e instanceof Error ? e.message : String(e), [], undefined);
  }
  if (!res.ok) throw await problemOf(res);
  return res;
}

/** A JSON answer (undefined for 204). @throws ApiError */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

// ---- what the API answers (the fields the console uses) ----

export type Role = 'owner' | 'member' | 'viewer';
export const ROLES: readonly Role[] = ['owner', 'member', 'viewer'];
export type Cloud = 'aws' | 'gcp' | 'azure' | 'digitalocean';
export const CLOUDS: readonly Cloud[] = ['aws', 'gcp', 'azure', 'digitalocean'];
export const CLOUD_NAMES: Record<Cloud, string> = { aws: 'AWS', gcp: 'Google Cloud', azure: 'Azure', digitalocean: 'DigitalOcean' };

export interface SignInMethods { localAccounts: boolean; oidc: boolean; firstUserSignup: boolean }
export interface Membership { organisationId: string; organisationName: string; role: Role }
export interface Me {
  via: 'session' | 'api-key';
  user?: { id: string; email: string };
  memberships?: Membership[];
  organisationId: string | null;
  role: Role | null;
}
export interface Member { userId: string; email: string; role: Role; createdAt: string }
export interface Invitation { id: string; email: string; role: Role; expiresAt: string; acceptedAt: string | null; createdAt: string }
export interface InvitationCreated extends Invitation { token: string }
export interface ApiKey { id: string; name: string; role: Role; createdAt: string }
export interface ApiKeyCreated extends ApiKey { key: string }
export interface StoredCredentials { id: string; cloud: Cloud; name: string; identity: string; createdAt: string }
export interface Region { id: string; name: string; crossCloudLatencyMs: Record<string, number>; availableOn: Cloud[] }
export interface Regions { items: Region[]; maxCrossCloudLatencyMs: number }
export interface ClusterSummary { id: string; name: string; phase: string; region: string; clouds: Cloud[]; createdAt: string }
export interface Condition { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }
export interface ClusterNode {
  id: string; name: string; cloud: Cloud; role: 'master' | 'worker'; phase: string; instanceType: string;
  privateIp: string | null; publicIp: string | null; removalRequested: boolean; message: string | null;
}
export interface ClusterNetwork { cloud: Cloud; phase: string; message: string | null; region?: string; vpcCidr?: string; subnetCidr?: string }
export interface Cluster {
  id: string; name: string; phase: string; createdAt: string;
  spec: { region: string; clouds: Cloud[]; kubernetesVersion?: string };
  conditions: Condition[] | null;
  networks: ClusterNetwork[];
  nodes: ClusterNode[];
  reconcile: { reconciling: boolean; lastReconciledAt: string | null; nextReconcileAt: string | null };
}
export interface ClusterEvent { id: string; type: string; reason: string; object?: string; message: string; createdAt: string }
export interface ClusterRequest {
  name: string; region: string; clouds: Cloud[];
  controlPlane: { cloud: Cloud; count: 1 | 3 };
  workers: { cloud: Cloud; count: number }[];
}
export interface Cost { usdPerHour: number | null; usdPerMonth: number | null }
export interface Plan {
  name: string;
  region: { id: string; name: string };
  clouds: {
    cloud: Cloud; region: string; zone: string;
    network: { vpcCidr: string | null; subnetCidr: string | null };
    nodes: { role: string; count: number; instanceType: string; vcpu: number | null; memoryMiB: number | null; usdPerHour: number | null }[];
    cost: Cost & { reason?: string };
  }[];
  latency: { worst: { pair: string; ms: number } | null; budgetMs: number; withinBudget: boolean };
  cost: Cost;
  warnings: { code: string; message: string; cloud?: Cloud }[];
}
