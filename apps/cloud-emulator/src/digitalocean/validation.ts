import { badRequest, unprocessable } from './errors';

/**
 * Request-body readers. DigitalOcean decodes bodies into typed structs: a value of the wrong JSON type is a
 * 400 `bad_request` (decoder error); a well-typed but invalid value is a 422 `unprocessable_entity` naming the field.
 */

export type Body = Record<string, unknown>;

export function asBody(raw: unknown): Body {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('json: cannot unmarshal request body into an object');
  return raw as Body;
}

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

const typeError = (field: string, v: unknown, want: string) =>
  badRequest(`json: cannot unmarshal ${jsonType(v)} into Go struct field .${field} of type ${want}`);

export function optString(body: Body, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(field, v, 'string');
  return v;
}

export function reqString(body: Body, field: string, blankMessage = `${field} is required`): string {
  const v = optString(body, field);
  if (v === undefined || v.trim() === '') throw unprocessable(blankMessage);
  return v;
}

export function optBool(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw typeError(field, v, 'bool');
  return v;
}

export function optArray(body: Body, field: string): unknown[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(field, v, '[]');
  return v;
}

export function optStringArray(body: Body, field: string): string[] | undefined {
  const arr = optArray(body, field);
  if (!arr) return undefined;
  return arr.map((v, i) => {
    if (typeof v !== 'string') throw typeError(`${field}[${i}]`, v, 'string');
    return v;
  });
}

export function optIntArray(body: Body, field: string): number[] | undefined {
  const arr = optArray(body, field);
  if (!arr) return undefined;
  return arr.map((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(`${field}[${i}]`, v, 'int');
    return v;
  });
}

/** Tag names: letters, numbers, colons, dashes and underscores; at most 255 characters. */
export const TAG_NAME_RE = /^[a-zA-Z0-9_:-]{1,255}$/;

export function checkTagName(name: string): string {
  if (!TAG_NAME_RE.test(name)) {
    throw unprocessable(`tag name "${name}" is invalid: tags may contain letters, numbers, colons, dashes, and underscores, with a limit of 255 characters`);
  }
  return name;
}

/** VPC names: alphanumerics, dashes and periods. */
export const VPC_NAME_RE = /^[a-zA-Z0-9.-]{1,255}$/;
/** Firewall names: begin with an alphanumeric, then alphanumerics, periods or dashes. */
export const FIREWALL_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,254}$/;
/** Droplet names: valid hostname characters. */
export const DROPLET_NAME_RE = /^[a-zA-Z0-9.-]{1,255}$/;
