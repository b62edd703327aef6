import * as dgram from 'node:dgram';
import * as readline from 'node:readline';

/**
 * The sandbox's internet between namespace-VMs, with the clouds' 1:1 NAT and their distance.
 *
 * Every VM's public address lives on the hub namespace (as a cloud's NAT gateway holds it, not the VM), where this
 * relay binds UDP port `port` on it. A datagram from VM A (private address) to VM B's public address is sent on, after
 * the one-way delay between A's and B's clouds, from A's public address to B's private address: B sees A's public
 * endpoint, as behind a cloud NAT. The delay is half the round trip set for the pair of clouds, or for the pair of
 * VMs when an override is set. It replaces `tc netem`, which kernels without `sch_netem` (like this machine's) lack.
 * Only UDP on `port` (WireGuard's) is relayed; anything else sent to a public address is answered by the hub itself.
 *
 * Controlled by JSON lines on stdin (it runs as a child process inside the hub namespace):
 *  - `{"op":"add","cloud":"aws","privateIp":"10.10.0.4","publicIp":"198.51.100.1"}`
 *  - `{"op":"remove","publicIp":"198.51.100.1"}`
 *  - `{"op":"latency","clouds":{"aws|gcp":3},"pairs":{"198.51.100.1|198.51.100.2":14}}` (round trips, milliseconds;
 *    keys in either order)
 * and answers each line with `{"ok":true}` or `{"ok":false,"error":"…"}` on stdout.
 */
export class WanRelay {
  private readonly vms = new Map<string, { cloud: string; privateIp: string; socket: dgram.Socket }>();
  private readonly byPrivate = new Map<string, string>();
  private cloudRtt: Record<string, number> = {};
  private pairRtt: Record<string, number> = {};

  constructor(private readonly port: number) {}

  /** Binds the VM's public address. @throws Error when the address cannot be bound (not on the hub). */
  async add(vm: { cloud: string; privateIp: string; publicIp: string }): Promise<void> {
    if (this.vms.has(vm.publicIp)) return;
    const socket = dgram.createSocket('udp4');
    socket.on('message', (msg, from) => this.forward(vm.publicIp, msg, from));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, vm.publicIp, () => resolve());
    });
    this.vms.set(vm.publicIp, { cloud: vm.cloud, privateIp: vm.privateIp, socket });
    this.byPrivate.set(vm.privateIp, vm.publicIp);
  }

  remove(publicIp: string): void {
    const vm = this.vms.get(publicIp);
    if (!vm) return;
    vm.socket.close();
    this.vms.delete(publicIp);
    if (this.byPrivate.get(vm.privateIp) === publicIp) this.byPrivate.delete(vm.privateIp);
  }

  setLatency(clouds: Record<string, number>, pairs: Record<string, number>): void {
    this.cloudRtt = clouds;
    this.pairRtt = pairs;
  }

  /**
   * One-way delay from the VM with public address `a` to the one with `b`, in whole milliseconds (timers have no
   * finer grain): the round trip split so that the two directions add up to it exactly, e.g. 7 ms as 3 + 4.
   */
  delayMs(a: string, b: string): number {
    const ca = this.vms.get(a)?.cloud;
    const cb = this.vms.get(b)?.cloud;
    const rtt = this.pairRtt[`${a}|${b}`] ?? this.pairRtt[`${b}|${a}`] ??
      (!ca || !cb || ca === cb ? 0 : this.cloudRtt[`${ca}|${cb}`] ?? this.cloudRtt[`${cb}|${ca}`] ?? 0);
    const half = Math.floor(Math.round(rtt) / 2);
    return a < b ? half : Math.round(rtt) - half;
  }

  /** A datagram arrived at `toPublic` from a VM's private address: send it on from the sender's public address. */
  private forward(toPublic: string, msg: Buffer, from: dgram.RemoteInfo): void {
    const target = this.vms.get(toPublic);
    const senderPublic = this.byPrivate.get(from.address);
    const sender = senderPublic ? this.vms.get(senderPublic) : undefined;
    if (!target || !sender || !senderPublic) return; // not from a known VM: dropped, as a NAT would
    const send = () => sender.socket.send(msg, this.port, target.privateIp);
    const delay = this.delayMs(senderPublic, toPublic);
    if (delay > 0) setTimeout(send, delay);
    else send();
  }

  close(): void {
    for (const ip of [...this.vms.keys()]) this.remove(ip);
  }
}

/** Runs the relay on stdin/stdout (see WanRelay). */
export function runWanRelay(port: number): void {
  const relay = new WanRelay(port);
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    void (async () => {
      try {
        const m = JSON.parse(line) as { op: string; cloud?: string; privateIp?: string; publicIp?: string; clouds?: Record<string, number>; pairs?: Record<string, number> };
        if (m.op === 'add' && m.cloud && m.privateIp && m.publicIp) await relay.add({ cloud: m.cloud, privateIp: m.privateIp, publicIp: m.publicIp });
        else if (m.op === 'remove' && m.publicIp) relay.remove(m.publicIp);
        else if (m.op === 'latency') relay.setLatency(m.clouds ?? {}, m.pairs ?? {});
        else throw new Error(`unknown command ${line}`);
        out({ ok: true });
      } catch (e) {
        out({ ok: false, error: (e as Error).message });
      }
    })();
  });
  lines.on('close', () => {
    relay.close();
    process.exit(0);
  });
}

if (require.main === module) runWanRelay(Number(process.argv[2] ?? 51820));
