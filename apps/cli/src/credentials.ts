import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliError, ExitCode } from './errors';

/**
 * Readers of the credential formats users already have, each turned into the shape `POST /v1/cloud-credentials`
 * takes for its cloud (AWS {accessKeyId, secretAccessKey}; GCP the service-account key's fields; Azure {tenantId,
 * clientId, clientSecret, subscriptionId}; DigitalOcean {token}). Pure functions over text, plus `locate…` helpers
 * that find the default files. Secrets are never printed: errors name files, profiles and fields only.
 */

export const CLOUDS = ['aws', 'gcp', 'azure', 'digitalocean'] as const;
export type Cloud = (typeof CLOUDS)[number];

/** An INI file as sections of key → value (`#` and `;` comments, `key = value`, section names trimmed). */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (s) {
      current = {};
      sections.set(s[1], current);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current) current[kv[1].trim().toLowerCase()] = kv[2].trim();
  }
  return sections;
}

/**
 * An AWS profile of a shared credentials file (`~/.aws/credentials`: `[name]` sections with aws_access_key_id and
 * aws_secret_access_key; `[profile name]` is accepted too). @throws CliError naming the missing profile or key, or
 * temporary credentials (a session token: the platform needs a long-lived access key).
 */
export function awsFromProfile(iniText: string, profile: string, file = '~/.aws/credentials'): { accessKeyId: string; secretAccessKey: string } {
  const sections = parseIni(iniText);
  const s = sections.get(profile) ?? sections.get(`profile ${profile}`);
  if (!s) throw new CliError(`${file} has no profile [${profile}] (profiles: ${[...sections.keys()].join(', ') || 'none'})`);
  const accessKeyId = s.aws_access_key_id;
  const secretAccessKey = s.aws_secret_access_key;
  if (!accessKeyId || !secretAccessKey) throw new CliError(`profile [${profile}] in ${file} needs aws_access_key_id and aws_secret_access_key`);
  if (s.aws_session_token) throw new CliError(`profile [${profile}] in ${file} holds temporary credentials (aws_session_token); Skyweave needs a long-lived access key of an IAM user`);
  return { accessKeyId, secretAccessKey };
}

/** Fields of a GCP service-account key file the API takes (the others — auth_uri, cert URLs, universe_domain — are left out). */
const GCP_FIELDS = ['type', 'project_id', 'private_key_id', 'private_key', 'client_email', 'client_id', 'token_uri'] as const;

/** A GCP service-account key file (`gcloud iam service-accounts keys create key.json`). @throws CliError when it is not one. */
export function gcpFromKeyFile(jsonText: string, file = 'the key file'): Record<string, string> {
  const doc = parseJson(jsonText, file);
  if (doc.type !== 'service_account') throw new CliError(`${file} is not a service-account key (its "type" is ${JSON.stringify(doc.type ?? null)}, not "service_account")`);
  const missing = ['project_id', 'private_key_id', 'private_key', 'client_email'].filter((f) => typeof doc[f] !== 'string' || !doc[f]);
  if (missing.length) throw new CliError(`${file} lacks ${missing.join(', ')}`);
  const out: Record<string, string> = {};
  for (const f of GCP_FIELDS) if (typeof doc[f] === 'string') out[f] = doc[f] as string;
  return out;
}

/**
 * An Azure service principal: the JSON `az ad sp create-for-rbac` prints ({appId, password, tenant, displayName}), or
 * the older `--sdk-auth` form ({clientId, clientSecret, tenantId, subscriptionId}). The subscription comes from the
 * `subscription` argument (flag or AZURE_SUBSCRIPTION_ID), else from the file's subscriptionId.
 * @throws CliError naming what is missing
 */
export function azureFromServicePrincipal(jsonText: string, subscription: string | undefined, file = 'the service principal file'): { tenantId: string; clientId: string; clientSecret: string; subscriptionId: string } {
  const doc = parseJson(jsonText, file);
  const str = (...keys: string[]) => keys.map((k) => doc[k]).find((v): v is string => typeof v === 'string' && v.length > 0);
  const clientId = str('appId', 'clientId');
  const clientSecret = str('password', 'clientSecret');
  const tenantId = str('tenant', 'tenantId');
  const subscriptionId = subscription || str('subscriptionId', 'subscription');
  const missing = [!clientId && 'appId', !clientSecret && 'password', !tenantId && 'tenant'].filter(Boolean);
  if (missing.length) throw new CliError(`${file} lacks ${missing.join(', ')} (expected the output of \`az ad sp create-for-rbac\`)`);
  if (!subscriptionId) throw new CliError('the Azure subscription is needed: --subscription <id> (or AZURE_SUBSCRIPTION_ID)', ExitCode.Usage);
  return { tenantId: tenantId!, clientId: clientId!, clientSecret: clientSecret!, subscriptionId };
}

/**
 * A DigitalOcean token: DIGITALOCEAN_TOKEN, else DIGITALOCEAN_ACCESS_TOKEN (doctl's), else doctl's config file
 * (`access-token` in ~/.config/doctl/config.yaml). @throws CliError when none has one.
 */
export function digitalOceanToken(env: NodeJS.ProcessEnv, doctlConfigText?: string): { token: string } {
  const fromEnv = env.DIGITALOCEAN_TOKEN || env.DIGITALOCEAN_ACCESS_TOKEN;
  if (fromEnv) return { token: fromEnv.trim() };
  if (doctlConfigText) {
    const doc = parseYaml(doctlConfigText) as Record<string, unknown> | null;
    const t = doc?.['access-token'];
    if (typeof t === 'string' && t) return { token: t.trim() };
  }
  throw new CliError('no DigitalOcean token: set DIGITALOCEAN_TOKEN (or log in with doctl)', ExitCode.Usage);
}

function parseJson(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file} is not JSON: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${file} must hold a JSON object`);
  return doc as Record<string, unknown>;
}

const home = (env: NodeJS.ProcessEnv) => env.HOME || homedir();

/** Reads a file, or fails naming it. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
export const awsCredentialsFile = (env: NodeJS.ProcessEnv) => env.AWS_SHARED_CREDENTIALS_FILE || path.join(home(env), '.aws', 'credentials');

/** doctl's configuration file, when it exists. */
export function doctlConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  const f = path.join(env.XDG_CONFIG_HOME || path.join(home(env), '.config'), 'doctl', 'config.yaml');
  return existsSync(f) ? f : undefined;
}
