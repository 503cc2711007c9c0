import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signToken } from '../server/src/auth/token-verifier.js';
import type { Notification } from '../protocol/notification.js';
import { collect, connectError, emitAck, nextEvent, sleep, startServer, type TestServer } from './helpers.js';
import { io as connectClient } from 'socket.io-client';

type RefreshAck = { ok: true; expiresAt: string } | { ok: false; error: { code: string; message: string } };

describe('token expiry and auth:refresh on a socket', () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('sends auth:expired and then disconnects a socket whose token runs out', async () => {
    const { socket } = await server.connect('alice', { token: server.token('alice', { expiresIn: 2 }) });
    const order: string[] = [];
    const expired = nextEvent<{ code: string }>(socket, 'auth:expired', 4500);
    socket.on('auth:expired', () => order.push('auth:expired'));
    const gone = new Promise<string>((resolve) =>
      socket.once('disconnect', (reason) => {
        order.push('disconnect');
        resolve(reason);
      }),
    );
    const started = Date.now();
    expect(await expired).toEqual({ code: 'token_expired' });
    expect(await gone).toBe('io server disconnect');
    expect(order).toEqual(['auth:expired', 'disconnect']);
    // Not before the token's lifetime (whole seconds in `exp`) had run out.
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(socket.connected).toBe(false);
  });

  it('keeps a socket past the old expiry after auth:refresh with a new token of the same user', async () => {
    const { socket } = await server.connect('alice', { token: server.token('alice', { expiresIn: 2 }) });
    const expiredEvents = collect(socket, 'auth:expired');
    const disconnects = collect(socket, 'disconnect');
    const ack = await emitAck<RefreshAck>(socket, 'auth:refresh', { token: server.token('alice', { expiresIn: 60 }) });
    if (!ack.ok) throw new Error(`refresh refused: ${ack.error.code}`);
    expect(new Date(ack.expiresAt).toISOString()).toBe(ack.expiresAt);
    expect(Math.abs(Date.parse(ack.expiresAt) - (Date.now() + 60_000))).toBeLessThan(5000);
    await sleep(3500);
    expect(expiredEvents).toEqual([]);
    expect(disconnects).toEqual([]);
    expect(socket.connected).toBe(true);
    const live = nextEvent<Notification>(socket, 'notification');
    const res = await server.request('POST', '/api/notifications', {
      token: server.token('svc', { roles: ['publisher'] }),
      body: { to: { user: 'alice' }, title: 'still here' },
    });
    expect(res.status).toBe(202);
    expect((await live).title).toBe('still here');
  });

  it('refuses a token of another user with forbidden, and the old expiry still applies', async () => {
    const { socket } = await server.connect('alice', { token: server.token('alice', { expiresIn: 2 }) });
    const ack = await emitAck<RefreshAck>(socket, 'auth:refresh', { token: server.token('mallory', { expiresIn: 60 }) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    expect(socket.connected).toBe(true);
    expect(await nextEvent(socket, 'auth:expired', 4500)).toEqual({ code: 'token_expired' });
  });

  it('refuses an invalid or expired token and keeps the socket on its current token', async () => {
    const { socket } = await server.connect('alice');
    const wrongKey = signToken('another-secret-that-is-at-least-32-characters', { sub: 'alice' });
    for (const token of ['not.a.jwt', wrongKey, `${server.token('alice')}x`]) {
      const ack = await emitAck<RefreshAck>(socket, 'auth:refresh', { token });
      expect(ack, token).toMatchObject({ ok: false, error: { code: 'token_invalid' } });
    }
    const expired = await emitAck<RefreshAck>(socket, 'auth:refresh', { token: server.token('alice', { expiresIn: -10 }) });
    expect(expired).toMatchObject({ ok: false, error: { code: 'token_expired' } });
    expect(socket.connected).toBe(true);
  });

  it('answers a refresh without a token string with invalid_payload', async () => {
    const { socket } = await server.connect('alice');
    for (const payload of [{}, { token: 42 }, null]) {
      const ack = await emitAck<RefreshAck>(socket, 'auth:refresh', payload);
      expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
  });

  it('refuses a connection whose token has already expired with token_expired', async () => {
    const socket = connectClient(server.url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: server.token('alice', { expiresIn: -10 }) },
    });
    try {
      const err = await connectError(socket);
      expect(err.message).toBe('unauthorized');
      expect(err.data?.code).toBe('token_expired');
    } finally {
      socket.close();
    }
  });
});
