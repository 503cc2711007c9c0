import { pathOf, ROUTES, type ClientRequest, type OperationId, type Routes, type SuccessBody } from '../../protocol/routes.js';
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

  rooms(query: RoomQuery): Promise<Page<RoomInfo>> {
    return this.call('listRooms', { query });
  }

  connections(query: ConnectionQuery): Promise<Page<ConnectionInfo>> {
    return this.call('listConnections', { query });
  }

  disconnectSocket(socketId: string): Promise<void> {
    return this.call('disconnectSocket', { params: { socketId } });
  }

  disconnectUser(userId: string): Promise<{ disconnected: number }> {
    return this.call('disconnectUser', { params: { userId } });
  }

  subscriptions(userId: string): Promise<{ topics: string[] }> {
    return this.call('getUserSubscriptions', { params: { userId } });
  }

  subscribe(userId: string, topic: string): Promise<{ topics: string[] }> {
    return this.call('subscribeUser', { params: { userId, topic } });
  }

  unsubscribe(userId: string, topic: string): Promise<{ topics: string[] }> {
    return this.call('unsubscribeUser', { params: { userId, topic } });
  }

  publish(input: PublishInput): Promise<PublishResponse> {
    return this.call('publishNotification', { body: input, headers: { 'Idempotency-Key': idempotencyKey() } });
  }

  /** One route of the table, by its operationId: the path, method and types come from there. */
  call<K extends OperationId>(id: K, input: ClientRequest<Routes[K]>): Promise<SuccessBody<Routes[K]>> {
    const route = ROUTES[id];
    const { params, query, headers, body } = input as { params?: Record<string, string>; query?: object; headers?: Record<string, string>; body?: unknown };
    return this.request(route.method.toUpperCase(), pathOf(route, params, query as Record<string, unknown>), body, headers);
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
