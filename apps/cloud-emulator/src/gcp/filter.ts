import { messageFields } from './schema';

/**
 * The `filter` parameter of Compute Engine list calls (https://cloud.google.com/compute/docs/reference/rest/v1/instances/list):
 * - AIP-160 comparisons `field op value` with `=`, `!=`, `<`, `>`, `<=`, `>=`, `:` (`labels.owner:*` tests presence);
 *   string values may hold `*` wildcards; nested fields with dots (`labels.skyweave-cluster`, `scheduling.preemptible`);
 * - or regular-expression comparisons `field eq literal` / `field ne literal` (RE2, full match);
 *   the two kinds cannot be mixed in one filter;
 * - several expressions must each be parenthesized: `(a = "x") (b = "y")`; they are ANDed unless joined by `OR`
 *   (explicit `AND` allowed); `OR` binds tighter than `AND` (AIP-160); `NOT` negates.
 * Field names must exist in the resource (proto message) — an unknown field is an invalid filter, as in the real API.
 */
export class FilterError extends Error {}

export type Predicate = (item: Record<string, unknown>) => boolean;

type Tok =
  | { t: '(' }
  | { t: ')' }
  | { t: 'op'; v: string }
  | { t: 'word'; v: string }
  | { t: 'str'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) { i += 1; continue; }
    if (c === '(' || c === ')') { out.push({ t: c }); i += 1; continue; }
    const two = s.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=') { out.push({ t: 'op', v: two }); i += 2; continue; }
    if (c === '=' || c === '<' || c === '>' || c === ':') { out.push({ t: 'op', v: c }); i += 1; continue; }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let v = '';
      while (j < s.length && s[j] !== c) {
        if (s[j] === '\\' && j + 1 < s.length) { v += s[j + 1]; j += 2; continue; }
        v += s[j];
        j += 1;
      }
      if (j >= s.length) throw new FilterError('unterminated string');
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < s.length && !/[\s()=<>:!]/.test(s[j])) j += 1;
    if (j === i) throw new FilterError(`unexpected character ${c}`);
    out.push({ t: 'word', v: s.slice(i, j) });
    i = j;
  }
  return out;
}

interface Node { eval: Predicate; parenthesized: boolean }

/**
 * Compiles a list filter for resources of proto message `message` (e.g. `Instance`).
 * @returns a predicate over the resource JSON; an empty filter matches everything.
 * @throws FilterError when the expression is not valid.
 */
export function compileFilter(filter: string | undefined, message: string): Predicate {
  if (filter === undefined || filter.trim() === '') return () => true;
  const toks = tokenize(filter);
  let pos = 0;
  let mode: 'aip' | 'regex' | undefined;
  const peek = (): Tok | undefined => toks[pos];
  const isWord = (tok: Tok | undefined, w: string): boolean => tok?.t === 'word' && tok.v === w;

  const parseAnd = (depth: number): Node => {
    const parts: Node[] = [parseOr(depth)];
    for (;;) {
      const tok = peek();
      if (!tok || tok.t === ')') break;
      if (isWord(tok, 'AND')) pos += 1;
      parts.push(parseOr(depth));
    }
    if (parts.length === 1) return parts[0];
    if (parts.some((p) => !p.parenthesized)) throw new FilterError('multiple expressions must each be parenthesized');
    return { eval: (it) => parts.every((p) => p.eval(it)), parenthesized: false };
  };
  const parseOr = (depth: number): Node => {
    const parts: Node[] = [parseUnary(depth)];
    while (isWord(peek(), 'OR')) {
      pos += 1;
      parts.push(parseUnary(depth));
    }
    if (parts.length === 1) return parts[0];
    if (parts.some((p) => !p.parenthesized)) throw new FilterError('multiple expressions must each be parenthesized');
    return { eval: (it) => parts.some((p) => p.eval(it)), parenthesized: true };
  };
  const parseUnary = (depth: number): Node => {
    if (isWord(peek(), 'NOT')) {
      pos += 1;
      const inner = parsePrimary(depth);
      return { eval: (it) => !inner.eval(it), parenthesized: inner.parenthesized };
    }
    return parsePrimary(depth);
  };
  const parsePrimary = (depth: number): Node => {
    const tok = peek();
    if (!tok) throw new FilterError('unexpected end of filter');
    if (tok.t === '(') {
      pos += 1;
      const inner = parseAnd(depth + 1);
      if (peek()?.t !== ')') throw new FilterError('missing )');
      pos += 1;
      return { eval: inner.eval, parenthesized: true };
    }
    if (tok.t !== 'word') throw new FilterError('expected a field name');
    pos += 1;
    const path = parseFieldPath(tok.v, message);
    const opTok = peek();
    let op: string;
    if (opTok?.t === 'op') op = opTok.v;
    else if (opTok?.t === 'word' && (opTok.v === 'eq' || opTok.v === 'ne')) op = opTok.v;
    else throw new FilterError('expected an operator');
    pos += 1;
    const kind = op === 'eq' || op === 'ne' ? 'regex' : 'aip';
    if (mode && mode !== kind) throw new FilterError('regular-expression and AIP-160 comparisons cannot be mixed');
    mode = kind;
    const valTok = peek();
    if (!valTok || (valTok.t !== 'word' && valTok.t !== 'str')) throw new FilterError('expected a value');
    if (valTok.t === 'word' && (valTok.v === 'AND' || valTok.v === 'OR')) throw new FilterError('expected a value');
    pos += 1;
    return { eval: comparison(path, op, valTok.v), parenthesized: false };
  };

  const root = parseAnd(0);
  if (pos !== toks.length) throw new FilterError('unexpected token');
  return root.eval;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Splits and checks `labels.skyweave-cluster` against the message's fields; map keys are free. */
function parseFieldPath(raw: string, message: string): string[] {
  const parts = raw.split('.');
  if (parts.some((p) => p === '')) throw new FilterError(`invalid field ${raw}`);
  const out: string[] = [];
  let fields = messageFields(message);
  for (let i = 0; i < parts.length; i += 1) {
    if (!fields) throw new FilterError(`invalid field ${raw}`);
    const name = fields[parts[i]] ? parts[i] : camel(parts[i]);
    const f = fields[name];
    if (!f) throw new FilterError(`invalid field ${raw}`);
    out.push(name);
    if (f.keyType) {
      if (i + 1 !== parts.length - 1) throw new FilterError(`invalid field ${raw}`);
      out.push(parts[i + 1]);
      return out;
    }
    fields = messageFields(f.type);
    if (i < parts.length - 1 && !fields) throw new FilterError(`invalid field ${raw}`);
  }
  return out;
}

function valuesAt(item: unknown, path: string[]): unknown[] {
  let cur: unknown[] = [item];
  for (const p of path) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (c === null || c === undefined || typeof c !== 'object') continue;
      const v = (c as Record<string, unknown>)[p];
      if (Array.isArray(v)) next.push(...v);
      else if (v !== undefined && v !== null) next.push(v);
    }
    cur = next;
  }
  return cur.filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
}

const globToRegex = (glob: string) => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/** RE2 full-match as a JS RegExp; RE2 lacks look-around and back-references, so they are invalid here too. */
function re2(literal: string): RegExp {
  let src = literal;
  let flags = '';
  if (src.startsWith('(?i)')) { src = src.slice(4); flags = 'i'; }
  if (/\(\?[=!<]|\\[1-9]|\(\?i\)/.test(src)) throw new FilterError('unsupported regular expression');
  try {
    return new RegExp(`^(?:${src})$`, flags);
  } catch {
    throw new FilterError('invalid regular expression');
  }
}

function comparison(path: string[], op: string, literal: string): Predicate {
  switch (op) {
    case '=':
    case '!=': {
      const re = globToRegex(literal);
      const eq: Predicate = (it) => valuesAt(it, path).some((v) => re.test(String(v)));
      return op === '=' ? eq : (it) => !eq(it);
    }
    case ':': {
      if (literal === '*') return (it) => valuesAt(it, path).some((v) => v !== '');
      const re = globToRegex(literal);
      return (it) => valuesAt(it, path).some((v) => re.test(String(v)));
    }
    case '<':
    case '>':
    case '<=':
    case '>=': {
      const num = Number(literal);
      const cmp = (v: unknown): number => {
        if (!Number.isNaN(num) && !Number.isNaN(Number(v))) return Number(v) - num;
        return String(v) < literal ? -1 : String(v) > literal ? 1 : 0;
      };
      const test = { '<': (d: number) => d < 0, '>': (d: number) => d > 0, '<=': (d: number) => d <= 0, '>=': (d: number) => d >= 0 }[op];
      return (it) => valuesAt(it, path).some((v) => test(cmp(v)));
    }
    case 'eq':
    case 'ne': {
      const re = re2(literal);
      const eq: Predicate = (it) => valuesAt(it, path).some((v) => re.test(String(v)));
      return op === 'eq' ? eq : (it) => !eq(it);
    }
    default:
      throw new FilterError(`unknown operator ${op}`);
  }
}
