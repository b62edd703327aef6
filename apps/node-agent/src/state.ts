import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';

/** An operation this agent ran to completion, and whether the platform has taken its result. */
export interface CompletedOperation {
  result: AgentApi.OperationResult;
  /** `true` once the platform answered the result's POST with 2xx (or refused it for good: 404, 409, 410). */
  reported: boolean;
  /** ISO 8601. */
  completedAt: string;
}

/**
 * What the agent keeps on the node so that a restart resumes instead of re-registering (the bootstrap token is
 * one-time) and re-reports operations it already ran instead of running them again.
 */
export interface AgentState {
  nodeToken: string;
  role: 'master' | 'worker';
  nodeName: string;
  wireguardAddress: string;
  joined: boolean;
  /** Completed operations by id (all unreported ones, and the last `KEEP_REPORTED_OPERATIONS` reported ones). */
  operations?: Record<string, CompletedOperation>;
}

/** Where the state lives on the node (0600: it holds the node token). */
export const STATE_PATH = '/var/lib/skyweave/state.json';

/** The saved state, or `undefined` before the first registration. */
export function loadState(ex: Executor): AgentState | undefined {
  const file = ex.path(STATE_PATH);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AgentState) : undefined;
}

/** Saves the state (written to a temporary file, then renamed over the old one, so a crash never leaves half a file). */
export function saveState(ex: Executor, state: AgentState): void {
  const tmp = `${STATE_PATH}.tmp`;
  ex.writeFile(tmp, JSON.stringify(state), 0o600);
  renameSync(ex.path(tmp), ex.path(STATE_PATH));
}
