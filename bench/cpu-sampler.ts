import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pidtree from 'pidtree';
import pidusage from 'pidusage';

/**
 * Where a sandbox installation spends CPU: samples the user + system CPU time (ms, from /proc through `pidusage`) of
 * every process of the installation every `intervalMs`, grouped, so that a benchmark can say which group used how much
 * CPU in which of its phases. Linux only (/proc); a sample costs one `ps` (pidtree) and one /proc read per process.
 *
 * Groups: each service by its name (`roots`, e.g. the stack's `api-gateway`), with its child processes; the sandbox's
 * own process (`sandbox cloud`: the clouds' APIs, its kubeadm and API servers); its VMs' agents (`VM agents`: a process
 * under `emulatorPid` running a node-agent bundle); everything else under the sandbox (`VM commands`: the image's
 * kubeadm script and its curl, kubectl, forwarders); `PostgreSQL` (every server process) and `NATS`. CPU of a process that exits between two samples is counted up to its last
 * sample, so short-lived commands (a few ms each) are undercounted; {@link machineBusy} (every core's busy time, from
 * `os.cpus()`) counts them, and whatever else ran on the machine (the benchmark itself, this sampler).
 */
export class CpuSampler {
  private readonly samples: { at: number; ctime: Map<number, number>; machineMs: number }[] = [];
  private readonly groupOf = new Map<number, string>();
  private timer?: NodeJS.Timeout;
  private busy = false;

  /**
   * @param roots process id → group name, for the services started by the stack.
   * @param emulatorPid the sandbox's process: its descendants are the VMs' agents and commands.
   * @param intervalMs between samples (default 200 ms).
   */
  constructor(private readonly roots: ReadonlyMap<number, string>, private readonly emulatorPid: number, private readonly intervalMs = 200) {}

  /**
   * Takes a first sample, then samples every `intervalMs`. Settles once the first sample is taken: await it before
   * the work to measure (pidusage's first call reads the clock tick with `getconf`, 1.5 s on a 2-core machine).
   */
  async start(): Promise<void> {
    // twice: the first (pidusage's clock-tick read) is slow, the second marks where measuring starts
    await this.sample();
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Stops sampling after one last sample. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.sample();
    pidusage.clear();
  }

  /**
   * CPU time (ms) each group used between `fromMs` and `toMs` (epoch ms), from the last sample at or before each end;
   * a process first seen after `fromMs` counts from 0.
   * @returns group → CPU ms, groups with none left out.
   */
  between(fromMs: number, toMs: number): Map<string, number> {
    const at = (t: number) => [...this.samples].reverse().find((s) => s.at <= t);
    const a = at(fromMs);
    const b = at(toMs);
    const out = new Map<string, number>();
    if (!b) return out;
    for (const [pid, ctime] of b.ctime) {
      const used = ctime - (a?.ctime.get(pid) ?? 0);
      const group = this.groupOf.get(pid);
      if (used > 0 && group) out.set(group, (out.get(group) ?? 0) + used);
    }
    return out;
  }

  /**
   * CPU time (ms) the whole machine's cores were busy (user, nice, system, irq) between `fromMs` and `toMs` (epoch ms),
   * from the same samples as {@link between}.
   */
  machineBusy(fromMs: number, toMs: number): number {
    const at = (t: number) => [...this.samples].reverse().find((s) => s.at <= t);
    const a = at(fromMs);
    const b = at(toMs);
    return a && b ? b.machineMs - a.machineMs : 0;
  }

  private async sample(): Promise<void> {
    if (this.busy) return; // a slow sample is not stacked with the next one
    this.busy = true;
    try {
      const all = await pidtree(-1, { advanced: true });
      const parent = new Map(all.map((p) => [p.pid, p.ppid]));
      for (const { pid } of all) if (!this.groupOf.has(pid)) this.classify(pid, parent);
      const pids = all.map((p) => p.pid).filter((pid) => this.groupOf.get(pid));
      // one by one: a process gone since `ps` listed it must not fail the others
      const stats = await Promise.allSettled(pids.map((pid) => pidusage(pid)));
      const ctime = new Map<number, number>();
      stats.forEach((s, i) => { if (s.status === 'fulfilled') ctime.set(pids[i], s.value.ctime); });
      // stamped once the figures are read: what the sample's own work cost falls before its time, not after
      const at = Date.now();
      const machineMs = cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
      // a process that exited keeps its last figure, so that its CPU is not taken back in later windows
      for (const [pid, t] of this.samples.at(-1)?.ctime ?? []) if (!ctime.has(pid)) ctime.set(pid, t);
      this.samples.push({ at, ctime, machineMs });
    } finally {
      this.busy = false;
    }
  }

  /** Sets the group of `pid` ('' when it is not the installation's), from its ancestors and its command line. */
  private classify(pid: number, parent: ReadonlyMap<number, number>): void {
    const cmdline = (() => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        return [];
      }
    })();
    let group = '';
    const exe = cmdline[0]?.split('/').pop() ?? '';
    if (/^postgres/.test(exe) || /^postgres:/.test(cmdline[0] ?? '')) group = 'PostgreSQL';
    else if (exe === 'nats-server') group = 'NATS';
    else {
      for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 32; p = parent.get(p), hops++) {
        if (p === this.emulatorPid) {
          group = p === pid ? 'sandbox cloud' : cmdline.some((a) => /node-agent(\.js|\/main\.js)$/.test(a)) ? 'VM agents' : 'VM commands';
          break;
        }
        const root = this.roots.get(p);
        if (root) { group = root; break; }
      }
    }
    this.groupOf.set(pid, group);
  }
}
