import type { Socket } from 'socket.io';

/**
 * Disconnects sockets whose token ran out, with one timer for all of them:
 * sockets wait in buckets of one second, so each costs a Set entry, not a timer.
 */
export class TokenExpiry {
  private readonly buckets = new Map<number, Set<Socket>>();
  private readonly bucketOf = new WeakMap<Socket, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onExpired: (socket: Socket) => void,
    private readonly now: () => number = Date.now,
    tickMs = 250,
  ) {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Watches `socket` until `expiresAt` (ms since the epoch), replacing an earlier deadline. */
  watch(socket: Socket, expiresAt: number): void {
    this.forget(socket);
    const key = Math.ceil(expiresAt / 1000);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(key, bucket);
    }
    bucket.add(socket);
    this.bucketOf.set(socket, key);
  }

  forget(socket: Socket): void {
    const key = this.bucketOf.get(socket);
    if (key === undefined) return;
    this.bucketOf.delete(socket);
    const bucket = this.buckets.get(key);
    bucket?.delete(socket);
    if (bucket?.size === 0) this.buckets.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
    this.buckets.clear();
  }

  private tick(): void {
    const nowSec = this.now() / 1000;
    for (const [key, bucket] of this.buckets) {
      if (key > nowSec) continue;
      this.buckets.delete(key);
      for (const socket of bucket) {
        this.bucketOf.delete(socket);
        this.onExpired(socket);
      }
    }
  }
}
