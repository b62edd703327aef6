import { badRequest } from './errors';
import { KubeObject, isRecord } from './types';

/** One requirement of a label selector. */
interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

/**
 * A parsed `labelSelector` query value (source: "Labels and Selectors",
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors): comma-separated
 * requirements `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`; all must hold.
 * @throws KubeApiError 400 BadRequest on a malformed selector.
 */
export function parseLabelSelector(text: string): (labels: Record<string, string> | undefined) => boolean {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim() || parts.length) parts.push(current);
  const reqs: LabelRequirement[] = parts.map((raw) => {
    const p = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter((v) => v !== '' || m![3].trim() === '') };
    if ((m = p.match(/^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/))) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    if ((m = p.match(/^!\s*([A-Za-z0-9._/-]+)$/))) return { key: m[1], op: '!', values: [] };
    if ((m = p.match(/^([A-Za-z0-9._/-]+)$/))) return { key: m[1], op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: found '${p}', expected: key, !key, key=value, key!=value, key in (values) or key notin (values)`);
  });
  return (labels) => reqs.every((r) => {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists': return has;
      case '!': return !has;
      case 'in': return has && r.values.includes(labels![r.key]);
      case 'notin': return !has || !r.values.includes(labels![r.key]);
    }
  });
}

/** The value of a field selector label on an object (dotted path; absent is `''`, booleans `true`/`false`). */
export function fieldValue(o: KubeObject, path: string): string {
  let v: unknown = o;
  for (const part of path.split('.')) v = isRecord(v) ? v[part] : undefined;
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * A parsed `fieldSelector` (source: "Field Selectors",
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/): `f=v`, `f==v`, `f!=v`, comma
 * separated, over `metadata.name`, `metadata.namespace` and the kind's own labels (`supported`).
 * @throws KubeApiError 400 BadRequest for a label the kind does not support (`field label not supported: x`) or bad syntax.
 */
export function parseFieldSelector(text: string, supported: readonly string[]): (o: KubeObject) => boolean {
  const reqs = text.split(',').filter((p) => p.trim() !== '').map((raw) => {
    const m = raw.trim().match(/^([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${raw}'`);
    if (!['metadata.name', 'metadata.namespace', ...supported].includes(m[1])) throw badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1], equal: m[2] !== '!=', value: m[3] };
  });
  return (o) => reqs.every((r) => (fieldValue(o, r.field) === r.value) === r.equal);
}
