import { io, type Socket } from 'socket.io-client';
import type {
  ActivitySample,
  AdminClientToServerEvents,
  AdminReadyPayload,
  AdminServerToClientEvents,
  AdminStats,
  RecentNotification,
} from './types.js';

type AdminSocket = Socket<AdminServerToClientEvents, AdminClientToServerEvents>;

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
export type LiveChange = 'ready' | 'stats' | 'activity' | 'notifications' | 'status';

/** Why the server will not have this token: a `connect_error` code, or `token_expired` later on. */
export interface Refusal {
  code: string;
  message: string;
}

const HISTORY_SECONDS = 600;
const RECENT_KEPT = 100;

/**
 * The admin socket and what it pushes: stats, per-second samples and the latest
 * notifications. Views read the fields and listen with {@link on}.
 */
export class Live {
  status: LiveStatus = 'connecting';
  ready: AdminReadyPayload | undefined;
  stats: AdminStats | undefined;
  /** When the last `stats` arrived (ms since the epoch). */
  statsAt = 0;
  history: ActivitySample[] = [];
  recent: RecentNotification[] = [];
  private readonly socket: AdminSocket;
  private readonly listeners = new Set<(change: LiveChange) => void>();
  private expired = false;

  constructor(token: string, onRefused: (refusal: Refusal) => void) {
    // WebSocket first (one connection, no polling requests left over after a refusal),
    // long-polling when a proxy blocks WebSocket.
    this.socket = io('/admin', { auth: { token }, transports: ['websocket', 'polling'], tryAllTransports: true });
    const socket = this.socket;
    socket.on('ready', (payload) => {
      this.ready = payload;
      this.stats = payload.stats;
      this.statsAt = Date.now();
      this.history = payload.history.slice(-HISTORY_SECONDS);
      this.recent = payload.recent.slice(0, RECENT_KEPT);
      this.setStatus('live');
      this.emit('ready');
    });
    socket.on('stats', (stats) => {
      this.stats = stats;
      this.statsAt = Date.now();
      this.emit('stats');
    });
    socket.on('activity', ({ samples }) => {
      const last = this.history.at(-1)?.t ?? 0;
      const fresh = samples.filter((s) => s.t > last);
      if (fresh.length === 0) return;
      this.history.push(...fresh);
      if (this.history.length > HISTORY_SECONDS) this.history.splice(0, this.history.length - HISTORY_SECONDS);
      this.emit('activity');
    });
    socket.on('notifications', ({ items }) => {
      const known = new Set(this.recent.map((n) => n.id));
      const fresh = items.filter((n) => !known.has(n.id));
      if (fresh.length === 0) return;
      this.recent = [...fresh, ...this.recent].slice(0, RECENT_KEPT);
      this.emit('notifications');
    });
    socket.on('auth:expired', () => {
      this.expired = true;
      onRefused({ code: 'token_expired', message: 'the token has expired' });
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string; message?: string } }) => {
      // A refusal by the server's middleware is final; a network failure is retried.
      if (!socket.active) onRefused({ code: err.data?.code ?? 'unauthorized', message: err.data?.message ?? err.message });
      else this.setStatus('reconnecting');
    });
    socket.on('disconnect', (reason) => {
      if (this.expired) return;
      this.setStatus('reconnecting');
      // The server ended this socket on purpose: try again shortly (a refusal will then tell why).
      if (reason === 'io server disconnect') window.setTimeout(() => socket.connect(), 1000);
    });
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  on(listener: (change: LiveChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  private setStatus(status: LiveStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.emit('status');
  }

  private emit(change: LiveChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
