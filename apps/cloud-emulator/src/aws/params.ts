import { clientError, invalidParameterValue, missingParameter } from './errors';

/**
 * EC2 Query API parameters. The wire form is flat (`Filter.1.Name=tag:a&Filter.1.Value.1=b`); this class reads it as
 * a tree: dotted segments are members, numeric segments are 1-based list indexes.
 */
interface QNode {
  value?: string;
  children: Map<string, QNode>;
}

const newNode = (): QNode => ({ children: new Map() });

export class Params {
  private constructor(
    private readonly node: QNode,
    /** Dotted path of this node, for messages (empty at the top). */
    readonly path: string,
  ) {}

  /** Builds the tree from decoded `key=value` pairs (later duplicates win, as on EC2). */
  static fromEntries(entries: Iterable<[string, string]>): Params {
    const root = newNode();
    for (const [key, value] of entries) {
      let n = root;
      for (const seg of key.split('.')) {
        let c = n.children.get(seg);
        if (!c) {
          c = newNode();
          n.children.set(seg, c);
        }
        n = c;
      }
      n.value = value;
    }
    return new Params(root, '');
  }

  private full(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** Names of the members present at this level. */
  keys(): string[] {
    return [...this.node.children.keys()];
  }

  has(name: string): boolean {
    return this.node.children.has(name);
  }

  /**
   * Refuses members this action does not take, as EC2 does: `UnknownParameter`.
   * @param allowed member names accepted at this level.
   */
  allowOnly(allowed: readonly string[]): void {
    for (const k of this.keys()) {
      if (!allowed.includes(k)) throw clientError('UnknownParameter', `The parameter ${this.full(k)} is not recognized`);
    }
  }

  str(name: string): string | undefined {
    return this.node.children.get(name)?.value;
  }

  /** A required string: `MissingParameter` when absent or empty. */
  reqStr(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw missingParameter(this.full(name));
    return v;
  }

  int(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v.trim())) throw invalidParameterValue(`Invalid value '${v}' for ${this.full(name)}`);
    return parseInt(v, 10);
  }

  bool(name: string): boolean | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const l = v.toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
    throw invalidParameterValue(`Invalid value '${v}' for ${this.full(name)}: must be a boolean`);
  }

  private listNodes(name: string): [string, QNode][] {
    const n = this.node.children.get(name);
    if (!n) return [];
    const out: [string, QNode][] = [];
    for (const [k, c] of n.children) {
      if (!/^[1-9]\d*$/.test(k)) throw clientError('UnknownParameter', `The parameter ${this.full(name)}.${k} is not recognized`);
      out.push([k, c]);
    }
    return out.sort((a, b) => Number(a[0]) - Number(b[0]));
  }

  /** A list of strings, `Name.1=a&Name.2=b`. */
  strList(name: string): string[] {
    return this.listNodes(name).map(([k, c]) => {
      if (c.value === undefined) throw clientError('UnknownParameter', `The parameter ${this.full(name)}.${k} is not recognized`);
      return c.value;
    });
  }

  /** A list of structures, `Name.1.Member=…`. */
  structList(name: string): Params[] {
    return this.listNodes(name).map(([k, c]) => new Params(c, `${this.full(name)}.${k}`));
  }

  /** A structure, `Name.Member=…`. */
  struct(name: string): Params | undefined {
    const n = this.node.children.get(name);
    return n ? new Params(n, this.full(name)) : undefined;
  }

  /** Every leaf as `path=value`, sorted: a fingerprint of the request for idempotency checks. */
  fingerprint(exclude: readonly string[] = []): string {
    const out: string[] = [];
    const walk = (n: QNode, p: string) => {
      if (n.value !== undefined) out.push(`${p}=${n.value}`);
      for (const [k, c] of n.children) walk(c, p ? `${p}.${k}` : k);
    };
    for (const [k, c] of this.node.children) if (!exclude.includes(k)) walk(c, k);
    return out.sort().join('&');
  }
}
