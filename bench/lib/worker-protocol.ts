/** The IPC messages between the benchmark driver and its client processes. */
import type { HistogramData } from './histogram.js';

export type ClientKind = 'ws' | 'sio' | 'herald';

export type WorkerRequest =
  | {
      op: 'connect';
      /** Which protocol: a raw `ws` client, or socket.io-client (bare, or Herald with a token). */
      kind: ClientKind;
      url: string;
      /** The first client's index (Herald users are `u<index>`). */
      from: number;
      count: number;
      /**
       * Loopback source addresses of this process (127.1.0.0 and up), each used for
       * `perAddress` connections in turn: a bind() to port 0 on an address that
       * already holds thousands of ports takes milliseconds in the kernel.
       */
      localAddresses: string[];
      perAddress: number;
      /** Handshakes in flight at once. */
      concurrency: number;
      /** HS256 secret, to sign one token per Herald user. */
      secret?: string;
      /** A socket that is not up after this long counts as failed. */
      timeoutMs: number;
    }
  | { op: 'counters' }
  /** Starts a fresh latency histogram (and counts only from now on). */
  | { op: 'reset' }
  | { op: 'histogram' }
  | { op: 'close' };

export type WorkerReply =
  /** `refused`: attempts answered 503 and tried again. */
  | { connected: number; failed: number; refused: number; ms: number; error?: string; remote?: string }
  | { received: number; live: number }
  | { histogram: HistogramData }
  | { closed: number }
  | Record<string, never>;

/** Sent by a client process when every one of its sockets has received fan-out message `k`. */
export interface DoneEvent {
  done: number;
}
