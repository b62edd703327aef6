import type { CloudId } from '@skyweave/domain';
import type { FaultKind, Operation } from './types';

interface ArmedFault { cloud: CloudId; op: Operation | '*'; kind: FaultKind; remaining: number }

/** Armed faults: "the next N calls of op X on cloud C fail with kind K". */
export class FaultBook {
  private faults: ArmedFault[] = [];

  arm(f: { cloud: CloudId; op: Operation | '*'; kind: FaultKind; count?: number }): void {
    this.faults.push({ cloud: f.cloud, op: f.op, kind: f.kind, remaining: f.count ?? 1 });
  }

  take(cloud: CloudId, op: Operation): FaultKind | undefined {
    const f = this.faults.find((x) => x.cloud === cloud && (x.op === op || x.op === '*') && x.remaining > 0);
    if (!f) return undefined;
    f.remaining -= 1;
    if (f.remaining === 0) this.faults = this.faults.filter((x) => x !== f);
    return f.kind;
  }

  clear(): void {
    this.faults = [];
  }
}
