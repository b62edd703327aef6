import type { Operation as LatencyOp } from '../core/types';
import type { Call, Env, Reply } from './common';
import type { ArmPath } from './route';
import type { ResourceGroup } from './state';

/** One call being handled: the module's shared state, the authenticated call, its parsed path and, for a call in a resource group's provider path, the group (checked to exist). */
export interface OpContext {
  env: Env;
  call: Call;
  path: ArmPath;
  group?: ResourceGroup;
}

/**
 * An ARM operation the sandbox serves, keyed in the table by its call name `<METHOD> <resource type>` (route.ts,
 * core/calls.ts): its latency/fault operation and its handler.
 */
export interface ArmOperationDef {
  /** The latency/fault operation (core/latency.ts) charged to the call, for injected faults. */
  op: LatencyOp;
  run(c: OpContext): Promise<Reply> | Reply;
}

export type ArmOperationTable = Record<string, ArmOperationDef>;

/** A read (latency `read`). */
export const read = (run: ArmOperationDef['run']): ArmOperationDef => ({ op: 'read', run });

/** The group of a call routed in a resource group (the table only routes such calls to handlers that need it). */
export function groupOf(c: OpContext): ResourceGroup {
  if (!c.group) throw new Error(`no resource group in ${c.path.path}`);
  return c.group;
}
