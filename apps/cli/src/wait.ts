import type { Api } from './api';
import { ApiError } from './api';
import { CliError, ExitCode } from './errors';
import type { ClusterEvent, ClusterView, EventPage, NodeView } from './views';

/** Conditions that say a cloud refuses something: the wait ends with exit 1 (the platform keeps retrying). */
export const REFUSAL_CONDITIONS = ['CredentialsValid', 'CapacityAvailable', 'RequestsAccepted'] as const;
/** Conditions whose every change is shown while waiting. */
const SHOWN_CONDITIONS = [...REFUSAL_CONDITIONS, 'DeleteBlocked', 'CrossCloudLatency'];

/** One progress line per change, with the seconds since the wait began: `[  12.4s] node prod-worker-0 (gcp worker): Joined`. */
export class Progress {
  readonly started = Date.now();
  constructor(private readonly out: (s: string) => void = (s) => process.stderr.write(s)) {}
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }
  line(msg: string): void {
    this.out(`[${this.elapsed().toFixed(1).padStart(6)}s] ${msg}\n`);
  }
}

const nodeLabel = (n: NodeView) => `node ${n.name} (${n.cloud} ${n.role})`;
const waitingText = (w: { reason: string; attempts: number } | null, message: string | null) => (w ? `waiting (${w.reason}, attempt ${w.attempts})${message ? `: ${message}` : ''}` : '');

/**
 * What changed between two reads of a cluster, one line each: the cluster's phase, each cloud's network phase (and
 * its addresses once Ready), each node's phase, a network's or node's wait after a cloud's refusal, and the
 * conditions that name a refusal or a blocked delete. `nodes` limits the nodes shown (nodes add/remove).
 */
export function changes(prev: ClusterView | undefined, next: ClusterView, nodes?: ReadonlySet<string>): string[] {
  const out: string[] = [];
  // nodes add/remove: the cluster's phase only when it changes during the wait (not the Ready it already had)
  if (prev ? prev.phase !== next.phase : !nodes) out.push(`cluster ${next.name}: ${next.phase}`);
  if (!nodes) {
    for (const n of next.networks) {
      const p = prev?.networks.find((x) => x.cloud === n.cloud);
      if (p?.phase !== n.phase) out.push(`network ${n.cloud}: ${n.phase}${n.phase === 'Ready' && n.vpcCidr ? ` (${n.region ?? ''} ${n.vpcCidr}${n.subnetCidr ? `, subnet ${n.subnetCidr}` : ''})`.replace('( ', '(') : ''}`);
      if (n.waiting && (p?.waiting?.reason !== n.waiting.reason || p?.waiting?.attempts !== n.waiting.attempts)) out.push(`network ${n.cloud}: ${waitingText(n.waiting, n.message)}`);
    }
  }
  for (const n of next.nodes) {
    if (nodes && !nodes.has(n.id)) continue;
    const p = prev?.nodes.find((x) => x.id === n.id);
    if (!p && prev === undefined && n.phase === 'Terminated') continue;
    if (p?.phase !== n.phase) out.push(`${nodeLabel(n)}: ${n.phase}${n.phase === 'Joined' && n.privateIp ? ` (${n.privateIp})` : ''}`);
    if (n.waiting && (p?.waiting?.reason !== n.waiting.reason || p?.waiting?.attempts !== n.waiting.attempts)) out.push(`${nodeLabel(n)}: ${waitingText(n.waiting, n.message)}`);
  }
  for (const c of next.conditions) {
    if (!SHOWN_CONDITIONS.includes(c.type)) continue;
    const p = prev?.conditions.find((x) => x.type === c.type);
    if (p?.status === c.status && p?.reason === c.reason) continue;
    if (!p && (c.status === 'True' || c.status === 'Unknown') && c.type !== 'DeleteBlocked' && c.type !== 'CrossCloudLatency') continue;
    out.push(`condition ${c.type}=${c.status} (${c.reason})${c.message ? `: ${c.message}` : ''}`);
  }
  return out;
}

/** A refusal condition that is False: the cloud refuses something the operation needs. */
export function refusal(v: ClusterView): string | undefined {
  const c = v.conditions.find((x) => (REFUSAL_CONDITIONS as readonly string[]).includes(x.type) && x.status === 'False');
  return c ? `${c.type}=False (${c.reason}): ${c.message}` : undefined;
}

export interface WatchOptions {
  /** Until it returns a string (the outcome line) the watch goes on. `view` is undefined once the cluster is gone (404). */
  done: (view: ClusterView | undefined) => string | undefined;
  timeoutMs: number;
  progress: Progress;
  /** Only these nodes' changes (and no networks'). */
  nodes?: ReadonlySet<string>;
  /** Events after this id are shown as they come: warnings only, or every one. */
  events?: { after: string | null; all: boolean };
  /** Ends the wait with exit 1 on a refusal condition (default true). */
  failOnRefusal?: boolean;
  pollMs?: number;
}

/** The cluster a --wait follows (what Ctrl-C tells the user to look at: the operation goes on without the CLI). */
export const waitingOn: { clusterId?: string } = {};

/** The last event id of a cluster now (the start of a watch). */
export async function lastEventId(api: Api, clusterId: string): Promise<string | null> {
  let after: string | null = null;
  for (;;) {
    const page: EventPage = await api.get<EventPage>(`/v1/clusters/${clusterId}/events`, { after: after ?? undefined, limit: 1000 });
    if (!page.items.length) return after;
    after = page.next;
  }
}

/**
 * Follows a cluster until `done` says so, printing each change as a progress line (and the events asked for).
 * @returns the outcome line and the last view read
 * @throws CliError exit 5 after `timeoutMs`, exit 1 on a refusal condition (unless `failOnRefusal` is false)
 */
export async function watchCluster(api: Api, clusterId: string, o: WatchOptions): Promise<{ outcome: string; view: ClusterView | undefined }> {
  waitingOn.clusterId = clusterId;
  let prev: ClusterView | undefined;
  let after = o.events?.after ?? null;
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    let view: ClusterView | undefined;
    try {
      view = await api.get<ClusterView>(`/v1/clusters/${clusterId}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      view = undefined;
    }
    if (o.events && view) {
      const page = await api.get<EventPage>(`/v1/clusters/${clusterId}/events`, { after: after ?? undefined, limit: 1000 });
      for (const e of page.items) if (o.events.all || e.type === 'Warning') o.progress.line(eventLine(e));
      after = page.next;
    }
    if (view) for (const l of changes(prev, view, o.nodes)) o.progress.line(l);
    const outcome = o.done(view);
    if (outcome) return { outcome, view };
    const refused = view && o.failOnRefusal !== false ? refusal(view) : undefined;
    if (refused) {
      throw new CliError(`${refused}\nthe platform keeps retrying; fix the cause (e.g. \`skyweave credentials add … --replace\`) and follow it with \`skyweave events ${clusterId} --follow\``, ExitCode.Failure);
    }
    if (Date.now() > deadline) {
      throw new CliError(`timed out after ${Math.round(o.timeoutMs / 100) / 10} s${view ? ` (cluster ${view.name} is ${view.phase})` : ''}; the operation goes on: \`skyweave cluster get ${clusterId}\``, ExitCode.Timeout);
    }
    prev = view ?? prev;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** `Warning InstanceLaunched node/x: message`. */
export function eventLine(e: ClusterEvent): string {
  return `${e.type === 'Warning' ? 'warning ' : ''}${e.reason}${e.object ? ` ${e.object}` : ''}: ${e.message}`;
}
