import { Call, LIST_PARAMS, OpDef, OpTable, list, region, zone } from './context';
import { notFound } from './errors';
import { OpScope, OperationRec, scopePath } from './state';
import { later } from './util';

/**
 * Long-running operations (https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations,
 * …/regionOperations, …/globalOperations): get, list and wait. `wait` returns when the operation is DONE, or after
 * at most 2 minutes, as the real one.
 */

function findOp(c: Call, scope: OpScope, name: string): OperationRec {
  const op = c.project.operations.get(`${scopePath(scope)}/${name}`);
  if (!op) throw notFound(`projects/${c.project.id}/${scopePath(scope)}/operations/${name}`);
  return op;
}

async function waitOp(op: OperationRec): Promise<unknown> {
  if (!op.done) {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      op.waiters.push(resolve);
      timer = later(120_000, resolve);
    });
    if (timer) clearTimeout(timer);
  }
  return op.json;
}

const sameScope = (a: OpScope, b: OpScope): boolean => scopePath(a) === scopePath(b);

/** The three operations collections: get / wait / list each. */
function family(collection: string, base: string, scopeOf: (c: Call) => OpScope): OpTable {
  const item = `${base}/operations/{operation}`;
  const get: OpDef = {
    method: 'GET', path: item, op: 'read', permission: `compute.${collection}.get`,
    run: (c) => findOp(c, scopeOf(c), String(c.params.operation)).json,
  };
  const wait: OpDef = {
    method: 'POST', path: `${item}/wait`, op: 'read', permission: `compute.${collection}.get`,
    run: (c) => waitOp(findOp(c, scopeOf(c), String(c.params.operation))),
  };
  const ls: OpDef = {
    method: 'GET', path: `${base}/operations`, op: 'read', permission: `compute.${collection}.list`, query: LIST_PARAMS,
    run: (c) => {
      const scope = scopeOf(c);
      const ops = [...c.project.operations.values()].filter((o) => sameScope(o.scope, scope)).map((o) => o.json);
      return list(c, 'Operation', ops, (o) => ({ ...o }), 'compute#operationList', `${scopePath(scope)}/operations`);
    },
  };
  return { [`${collection}.get`]: get, [`${collection}.wait`]: wait, [`${collection}.list`]: ls };
}

/** Operations, by call name (`zoneOperations.wait` …). */
export const OPERATION_OPS: OpTable = {
  ...family('globalOperations', 'projects/{project}/global', () => ({ kind: 'global' })),
  ...family('regionOperations', 'projects/{project}/regions/{region}', (c) => ({ kind: 'region', region: region(String(c.params.region)) })),
  ...family('zoneOperations', 'projects/{project}/zones/{zone}', (c) => ({ kind: 'zone', zone: zone(String(c.params.zone)) })),
};
