import { Counter, Histogram, register } from 'prom-client';
import type { CloudId } from '@skyweave/domain';

/**
 * The autoscaler's Prometheus metrics, in prom-client's default registry (served at `/metrics` with the worker's
 * process metrics):
 * - `skyweave_autoscaler_decisions_total{kind}`: decisions by kind (`scale-up`, `scale-down`, `none`);
 * - `skyweave_autoscaler_decision_seconds{kind}`: time to decide a batch, seconds (histogram);
 * - `skyweave_autoscaler_nodes_added_total{cloud}`, `skyweave_autoscaler_nodes_removed_total{cloud, reason}`
 *   (`empty`, `underutilized`, `launch-refused`).
 */
export class AutoscalerMetrics {
  private static instance: AutoscalerMetrics | undefined;
  private readonly decisions = new Counter({ name: 'skyweave_autoscaler_decisions_total', help: 'Autoscaler decisions, by kind', labelNames: ['kind'], registers: [register] });
  private readonly latency = new Histogram({
    name: 'skyweave_autoscaler_decision_seconds', help: 'Time to decide one batch of pending pods, seconds', labelNames: ['kind'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [register],
  });
  private readonly addedNodes = new Counter({ name: 'skyweave_autoscaler_nodes_added_total', help: 'Nodes the autoscaler asked for, by cloud', labelNames: ['cloud'], registers: [register] });
  private readonly removedNodes = new Counter({ name: 'skyweave_autoscaler_nodes_removed_total', help: 'Nodes the autoscaler removed, by cloud and reason', labelNames: ['cloud', 'reason'], registers: [register] });

  private constructor() {}

  /** The process's instance (metrics are registered once). */
  static get(): AutoscalerMetrics {
    AutoscalerMetrics.instance ??= new AutoscalerMetrics();
    return AutoscalerMetrics.instance;
  }

  decided(kind: 'scale-up' | 'scale-down' | 'none', seconds: number): void {
    this.decisions.inc({ kind });
    if (kind !== 'scale-down') this.latency.observe({ kind }, seconds);
  }

  added(cloud: CloudId): void {
    this.addedNodes.inc({ cloud });
  }

  removed(cloud: CloudId, reason: 'empty' | 'underutilized' | 'launch-refused'): void {
    this.removedNodes.inc({ cloud, reason });
  }
}
