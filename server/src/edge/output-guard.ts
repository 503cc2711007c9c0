import type { EventEmitter } from 'node:events';

/** The Engine.IO socket of a connection (`socket.conn`), as far as the edge reads it. */
export interface EngineSocket extends EventEmitter {
  readonly readyState: string;
  readonly transport: { readonly writable: boolean; readonly name: string };
  /** `discard`: drop what is queued and close the transport at once. */
  close(discard?: boolean): unknown;
}

interface OutputState {
  /** Characters queued since the transport last took the buffer. */
  unsent: number;
  /** The largest packet among them: one message larger than the cap is let through. */
  largest: number;
  /** The largest packet of the batch the transport took last, which the WebSocket may still be writing. */
  flushedLargest: number;
  /** Queued for the check that follows this turn of the event loop. */
  suspect: boolean;
  /** Who this connection belongs to, for the log line: set once its user socket is authenticated. */
  owner: { userId: string; socketId: string } | undefined;
}

const STATE = Symbol('herald.output');
type Guarded = EngineSocket & { [STATE]: OutputState };

/** A packet as Engine.IO builds it for `packetCreate`. */
interface EnginePacket {
  data?: string | ArrayBuffer | Buffer;
}

const sizeOf = (data: EnginePacket['data']): number => (data === undefined ? 0 : typeof data === 'string' ? data.length : data.byteLength);

/** What the WebSocket library still holds for the peer (`ws`' public `bufferedAmount`); 0 for long-polling. */
function transportBuffered(conn: EngineSocket): number {
  const socket = (conn.transport as { socket?: { bufferedAmount?: unknown } }).socket;
  return typeof socket?.bufferedAmount === 'number' ? socket.bufferedAmount : 0;
}

export interface SlowConsumer {
  conn: EngineSocket;
  /** The unsent output found, in bytes (characters of queued packets, plus what the WebSocket holds). */
  unsent: number;
  owner: OutputState['owner'];
}

/**
 * The per-connection cap on unsent output (SPEC §8, `MAX_SOCKET_BUFFER_BYTES`).
 *
 * Engine.IO queues packets in the socket's `writeBuffer` whenever its transport
 * cannot take them (a WebSocket whose previous frames are still being written, a
 * long-polling session between two polls), and nothing bounds that queue: a
 * client that stops reading makes it grow for ever. The guard counts, per
 * connection, the bytes queued since the transport last took the buffer:
 * `packetCreate` adds a packet only when the transport is busy (a healthy
 * connection returns at the first check, so the fan-out path pays one property
 * read), and `flush` resets the count. When the count passes the cap the
 * connection becomes a suspect, checked once after this turn of the event loop —
 * not by a timer walking every socket: a burst queued within one turn has then
 * had its chance to be written. If what is still queued, plus what the
 * WebSocket still holds, is over the cap, the transport is closed; the client
 * sees an ordinary transport close, reconnects by itself and recovers through
 * `auth.lastSeq`.
 *
 * @example
 * const guard = new OutputGuard(1024 * 1024, ({ conn }) => conn.close(true));
 * io.engine.on('connection', (conn) => guard.watch(conn));
 */
export class OutputGuard {
  private readonly suspects = new Set<Guarded>();
  private checkScheduled = false;
  /** The `packetCreate` listener of every connection (Engine.IO calls it with the connection as `this`). */
  private readonly onPacket: (this: Guarded, packet: EnginePacket) => void;
  /** The `flush` listener of every connection. */
  private readonly onFlush: (this: Guarded, batch: readonly EnginePacket[]) => void;

  /**
   * @param capBytes the cap (MAX_SOCKET_BUFFER_BYTES).
   * @param onSlow told of a connection over the cap; the guard closes its transport right after.
   */
  constructor(
    private readonly capBytes: number,
    private readonly onSlow: (slow: SlowConsumer) => void,
  ) {
    const suspect = (conn: Guarded) => this.suspect(conn);
    const cap = capBytes;
    this.onPacket = function (this: Guarded, packet: EnginePacket) {
      if (this.transport.writable) return;
      const state = this[STATE];
      const size = sizeOf(packet.data);
      state.unsent += size;
      if (size > state.largest) state.largest = size;
      if (!state.suspect && state.unsent - state.largest > cap) suspect(this);
    };
    this.onFlush = function (this: Guarded, batch: readonly EnginePacket[]) {
      const state = this[STATE];
      // A batch queued while the transport was busy has been measured; one sent at once has not.
      let largest = state.largest;
      if (state.unsent === 0) for (const packet of batch) largest = Math.max(largest, sizeOf(packet.data));
      state.flushedLargest = largest;
      state.unsent = 0;
      state.largest = 0;
    };
  }

  /** Starts counting a new connection's unsent output. */
  watch(conn: EngineSocket): void {
    const guarded = conn as Guarded;
    guarded[STATE] = { unsent: 0, largest: 0, flushedLargest: 0, suspect: false, owner: undefined };
    conn.on('packetCreate', this.onPacket);
    conn.on('flush', this.onFlush);
  }

  /** Names the user socket of a watched connection, for the log line of a close. */
  own(conn: EngineSocket, owner: { userId: string; socketId: string }): void {
    const state = (conn as Guarded)[STATE];
    if (state) state.owner = owner;
  }

  private suspect(conn: Guarded): void {
    conn[STATE].suspect = true;
    this.suspects.add(conn);
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => this.check());
  }

  private check(): void {
    this.checkScheduled = false;
    const suspects = [...this.suspects];
    this.suspects.clear();
    for (const conn of suspects) {
      const state = conn[STATE];
      state.suspect = false;
      if (conn.readyState !== 'open') continue;
      const unsent = state.unsent + transportBuffered(conn);
      // One message, wherever it waits (queued, or being written), may be larger than the cap: a
      // page of 100 large notifications is 2 MB. Past it, what else waits counts.
      if (unsent - Math.max(state.largest, state.flushedLargest) <= this.capBytes) continue;
      this.onSlow({ conn, unsent, owner: state.owner });
      // `discard`: what is queued is dropped (the client recovers it from the store) rather than
      // waited for, and the transport is closed at once; the client reconnects by itself.
      conn.close(true);
    }
  }
}
