import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, startServer, type TestServer } from './helpers.js';

describe('publishing to one user', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('delivers a user notification to every socket of that user, with the same id and seq', async () => {
    const a = await server.connect('bob');
    const b = await server.connect('bob');
    const gotA = nextEvent<{ id: string; seq: number; title: string }>(a.socket, 'notification');
    const gotB = nextEvent<{ id: string; seq: number; title: string }>(b.socket, 'notification');
    const res = await server.request('POST', '/api/notifications', {
      token: server.token('svc', { roles: ['publisher'] }),
      body: { to: { user: 'bob' }, title: 'Your order shipped', data: { orderId: 42 } },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; streams: number };
    expect(body.streams).toBe(1);
    const [na, nb] = await Promise.all([gotA, gotB]);
    expect(na.id).toBe(body.id);
    expect(nb).toEqual(na);
    expect(na).toMatchObject({ stream: 'user:bob', type: 'message', title: 'Your order shipped', data: { orderId: 42 }, readAt: null });
  });
});
