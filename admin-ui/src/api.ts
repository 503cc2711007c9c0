import type { ConnectionInfo, ConnectionQuery, ErrorBody, Page, PublishResponse, RoomInfo, RoomQuery, Target } from './types.js';

/** A refused or failed API call, with the server's error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type { ConnectionQuery, RoomQuery };

export interface PublishInput {
  to: Target;
  type?: string;
  title: string;
  body?: string;
  data?: Record<string, unknown>;
}

const query = (params: object): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

const segment = encodeURIComponent;

/** A random Idempotency-Key, so that a double submit delivers once (works outside secure contexts too). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `admin-ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The REST API on the page's own origin, with the token in the Authorization
 * header. A 401 calls `onUnauthorized` (the session ended) before it throws.
 */
export class Api {
  constructor(
    private readonly token: () => string | null,
    private readonly onUnauthorized: (error: ApiError) => void,
  ) {}

  rooms(q: RoomQuery): Promise<Page<RoomInfo>> {
    return this.request('GET', `/api/admin/rooms${query(q)}`);
  }

  connections(q: ConnectionQuery): Promise<Page<ConnectionInfo>> {
    return this.request('GET', `/api/admin/connections${query(q)}`);
  }

  disconnectSocket(socketId: string): Promise<void> {
    return this.request('DELETE', `/api/admin/connections/${segment(socketId)}`);
  }

  disconnectUser(userId: string): Promise<{ disconnected: number }> {
    return this.request('DELETE', `/api/admin/users/${segment(userId)}/connections`);
  }

  subscriptions(userId: string): Promise<{ topics: string[] }> {
    return this.request('GET', `/api/users/${segment(userId)}/subscriptions`);
  }

  subscribe(userId: string, topic: string): Promise<{ topics: string[] }> {
    return this.request('PUT', `/api/users/${segment(userId)}/subscriptions/${segment(topic)}`);
  }

  unsubscribe(userId: string, topic: string): Promise<{ topics: string[] }> {
    return this.request('DELETE', `/api/users/${segment(userId)}/subscriptions/${segment(topic)}`);
  }

  publish(input: PublishInput): Promise<PublishResponse> {
    return this.request('POST', '/api/notifications', input, { 'Idempotency-Key': idempotencyKey() });
  }

  private async request<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extra };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const payload: unknown = await res.json().catch(() => undefined);
    if (res.ok) return payload as T;
    const error = (payload as { error?: ErrorBody } | undefined)?.error;
    const failure = new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `The server answered ${res.status}.`);
    if (res.status === 401) this.onUnauthorized(failure);
    throw failure;
  }
}
