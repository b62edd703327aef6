import type { Socket } from 'node:net';

/**
 * Joins two connections both ways (a TCP forwarder's inner loop): bytes flow until either side closes or fails, and
 * then both are destroyed.
 */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}
