import { LRUCache } from 'lru-cache';
import { Clock } from './clock';
import { isConflict, KubeObjects } from './objects';
import { Condition, KubeEvent, KubeObject } from './types';

/** Where kube-sim reports errors of a reconcile pass (a pass that failed is retried after `retryMs`). */
export type ErrorSink = (component: string, err: unknown) => void;

/** Immediate re-runs of a pass after Conflicts in a row, before the loop backs off for `retryMs`. */
export const MAX_CONFLICT_RETRIES = 10;

/**
 * A level-triggered reconcile loop: `kick()` asks for a pass; passes never overlap, and kicks during a pass coalesce
 * into one more pass. Every pass reads the current state (never what the last one did), so any pass may be repeated.
 * A pass that hits a Conflict runs again at once (up to MAX_CONFLICT_RETRIES in a row); any other error goes to
 * `onError` and is retried after `retryMs`.
 */
export class Loop {
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private cancelRetry: (() => void) | undefined;
  private cancelBatch: (() => void) | undefined;

  /**
   * @param retryMs delay before a pass that failed (not by Conflict) runs again, in ms.
   * @param batchMs kicks while idle start a pass only after this many ms (on `clock`), so a burst of watch events
   *   costs one pass instead of one each; 0 starts at once.
   */
  constructor(
    readonly name: string,
    private readonly pass: () => Promise<void>,
    private readonly clock: Clock,
    private readonly onError: ErrorSink,
    private readonly retryMs = 1000,
    private readonly batchMs = 0,
  ) {}

  /** True while a pass runs (a pass waiting for its batch timer is not running yet). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.batchMs > 0) {
      this.cancelBatch ??= this.clock.after(this.batchMs, () => {
        this.cancelBatch = undefined;
        this.run();
      });
      return;
    }
    this.run();
  }

  private run(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  private async drain(): Promise<void> {
    let conflicts = 0;
    do {
      this.dirty = false;
      await Promise.resolve();
      if (this.stopped) return;
      try {
        await this.pass();
        conflicts = 0;
      } catch (err) {
        // a few conflicts in a row are races with other writers; more means something keeps writing: back off
        if (isConflict(err) && ++conflicts <= MAX_CONFLICT_RETRIES) {
          this.dirty = true;
        } else {
          this.onError(this.name, err);
          this.cancelRetry?.();
          this.cancelRetry = this.clock.after(this.retryMs, () => this.kick());
        }
      }
    } while (this.dirty && !this.stopped);
  }

  /** Resolves when no pass runs. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.cancelRetry?.();
    this.cancelBatch?.();
  }
}

/** Calls `fn` every `ms` on `clock` until the returned function is called. */
export function every(clock: Clock, ms: number, fn: () => void): () => void {
  let cancel = clock.after(ms, tick);
  let stopped = false;
  function tick(): void {
    if (stopped) return;
    fn();
    cancel = clock.after(ms, tick);
  }
  return () => {
    stopped = true;
    cancel();
  };
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Epoch ms of an RFC 3339 time (seconds or MicroTime), or undefined when absent or unparseable. */
export function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** RFC 3339 with microseconds, as metav1.MicroTime serialises (Lease renewTime). */
export function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/**
 * Sets one condition in `conditions` (a new array): `lastTransitionTime` moves only when the status changes, as
 * Kubernetes' condition helpers do. Returns whether anything but heartbeat times changed.
 */
export function setCondition(conditions: Condition[] | undefined, next: Condition, nowIso: string): { conditions: Condition[]; changed: boolean } {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const merged: Condition = { ...old, ...next, lastTransitionTime: old && old.status === next.status ? (old.lastTransitionTime ?? nowIso) : nowIso };
  const changed = !old || old.status !== next.status || old.reason !== next.reason || old.message !== next.message;
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return { conditions: list, changed };
}

/** Events recorded per store, by involved object uid + reason + message + component (the correlator's key). */
const recentEvents = new WeakMap<KubeObjects, LRUCache<string, { name: string; namespace: string }>>();

/**
 * Records a core/v1 Event about `about` (what `kubectl describe` lists). The same reason and message about the same
 * object again bumps `count` and `lastTimestamp` of the event recorded before instead of adding one, as client-go's
 * EventCorrelator aggregates (it remembers the last 4096 series, as its LRU does). Failures are swallowed: events are
 * best effort in Kubernetes too.
 */
export async function recordEvent(
  objects: KubeObjects,
  clock: Clock,
  component: string,
  about: KubeObject,
  type: KubeEvent['type'],
  reason: string,
  message: string,
): Promise<void> {
  const now = isoSeconds(clock.now());
  const namespace = about.metadata.namespace ?? 'default';
  let recent = recentEvents.get(objects);
  if (!recent) recentEvents.set(objects, (recent = new LRUCache({ max: 4096 })));
  const key = JSON.stringify([about.metadata.uid, reason, message, component]);
  try {
    const seen = recent.get(key);
    const same = seen ? await objects.get('events', seen.name, seen.namespace) : undefined;
    if (same) {
      await objects.update('events', { ...same, count: (same.count ?? 1) + 1, lastTimestamp: now });
      return;
    }
    const created = await objects.create('events', {
      metadata: { generateName: `${about.metadata.name ?? 'object'}.`, namespace },
      involvedObject: {
        apiVersion: about.apiVersion,
        kind: about.kind,
        name: about.metadata.name,
        namespace: about.metadata.namespace,
        uid: about.metadata.uid,
        resourceVersion: about.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component },
      reportingComponent: component,
      reportingInstance: component,
      firstTimestamp: now,
      lastTimestamp: now,
      eventTime: null,
      count: 1,
    });
    recent.set(key, { name: created.metadata.name ?? '', namespace });
  } catch {
    // best effort, like client-go's recorder
  }
}
