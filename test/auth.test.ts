import { createSecretKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { connectError, SECRET, startServer, type TestClient, type TestServer } from './helpers.js';

const FEED = '/api/me/notifications';
const nowSeconds = () => Math.floor(Date.now() / 1000);
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 token signed with the test secret; every claim is given explicitly. */
function hs256(payload: Record<string, unknown>, options: jwt.SignOptions = {}): string {
  return jwt.sign(payload, SECRET, { algorithm: 'HS256', ...options });
}

/** An RSA (2048-bit) and a P-256 key pair, with the public halves as PEM. */
function keyPairs() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
  return { rsa: { ...rsa, pem: pem(rsa.publicKey) }, ec: { ...ec, pem: pem(ec.publicKey) } };
}
const keys = keyPairs();

describe('identity and authorization', () => {
  let server: TestServer | undefined;
  const sockets = new Set<TestClient>();

  afterEach(async () => {
    for (const socket of sockets) socket.disconnect();
    sockets.clear();
    await server?.close();
    server = undefined;
  });

  async function start(env: Record<string, string> = {}): Promise<TestServer> {
    server = await startServer(env);
    return server;
  }

  /** A raw socket.io-client that this suite disconnects after each test. */
  function rawSocket(s: TestServer, options: Parameters<typeof connectClient>[1] = {}): TestClient {
    const socket: TestClient = connectClient(s.url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
    sockets.add(socket);
    return socket;
  }

  /** GET the caller's feed over REST with the token as a Bearer header (none when undefined). */
  function getFeed(s: TestServer, token: string | undefined): Promise<Response> {
    return s.request('GET', FEED, token === undefined ? {} : { token });
  }

  async function expectRestRefused(res: Response, code: string): Promise<void> {
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
  }

  async function expectSocketRefused(s: TestServer, auth: Record<string, unknown>, code: string): Promise<void> {
    const err = await connectError(rawSocket(s, { auth }));
    expect(err.message).toBe('unauthorized');
    expect(err.data?.code).toBe(code);
  }

  /** The token is refused with `code` on REST (401) and on the socket handshake (`connect_error`). */
  async function expectRefusedEverywhere(s: TestServer, token: string, code: string): Promise<void> {
    await expectRestRefused(await getFeed(s, token), code);
    await expectSocketRefused(s, { token }, code);
  }

  /** The token is accepted on REST (200 on the feed) and on sockets (`ready` for `sub`). */
  async function expectAcceptedEverywhere(s: TestServer, token: string, sub: string): Promise<void> {
    const res = await getFeed(s, token);
    expect(res.status).toBe(200);
    const { socket, ready } = await s.connect(sub, { token });
    sockets.add(socket);
    expect(ready.userId).toBe(sub);
  }

  describe('missing, malformed and expired tokens (HS256)', () => {
    it('refuses a REST call without a token with token_missing', async () => {
      const s = await start();
      await expectRestRefused(await getFeed(s, undefined), 'token_missing');
    });

    it('refuses a token it accepted before, once the token has expired', async () => {
      const s = await start();
      const token = s.token('alice', { expiresIn: 2 });
      expect((await getFeed(s, token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 3100));
      await expectRestRefused(await getFeed(s, token), 'token_expired');
    });

    it('refuses a socket without a token with unauthorized and token_missing', async () => {
      const s = await start();
      await expectSocketRefused(s, {}, 'token_missing');
    });

    it('answers a REST 401 with a body of the shape {"error":{"code","message"}}', async () => {
      const s = await start();
      const res = await getFeed(s, 'not-a-jwt');
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body)).toEqual(['error']);
      const error = body.error as Record<string, unknown>;
      expect(error.code).toBe('token_invalid');
      expect(typeof error.message).toBe('string');
      expect(error.message).not.toBe('');
      for (const key of Object.keys(error)) expect(['code', 'message', 'details']).toContain(key);
    });

    it('refuses a garbage token with token_invalid', async () => {
      const s = await start();
      await expectRefusedEverywhere(s, 'garbage.garbage.garbage', 'token_invalid');
    });

    it('refuses an expired token with token_expired', async () => {
      const s = await start();
      await expectRefusedEverywhere(s, hs256({ sub: 'alice', exp: nowSeconds() - 60 }), 'token_expired');
    });

    it('refuses a token signed with alg none', async () => {
      const s = await start();
      const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', roles: ['admin'], exp: nowSeconds() + 600 })}.`;
      await expectRefusedEverywhere(s, unsigned, 'token_invalid');
    });

    it('refuses a token signed with HS384 or HS512 and the same secret', async () => {
      const s = await start();
      const payload = { sub: 'alice', exp: nowSeconds() + 600 };
      await expectRefusedEverywhere(s, jwt.sign(payload, SECRET, { algorithm: 'HS384' }), 'token_invalid');
      await expectRefusedEverywhere(s, jwt.sign(payload, SECRET, { algorithm: 'HS512' }), 'token_invalid');
    });

    it('refuses an RS256 token when the server verifies HS256', async () => {
      const s = await start();
      const token = jwt.sign({ sub: 'alice', exp: nowSeconds() + 600 }, keys.rsa.privateKey, { algorithm: 'RS256' });
      await expectRefusedEverywhere(s, token, 'token_invalid');
    });

    it('refuses an HS256 token signed with another secret', async () => {
      const s = await start();
      const token = jwt.sign({ sub: 'alice', exp: nowSeconds() + 600 }, `${SECRET}-but-another-one`, { algorithm: 'HS256' });
      await expectRefusedEverywhere(s, token, 'token_invalid');
    });

    it('refuses a token without exp', async () => {
      const s = await start();
      const token = hs256({ sub: 'alice', roles: ['admin'] });
      expect(jwt.decode(token)).not.toHaveProperty('exp');
      await expectRefusedEverywhere(s, token, 'token_invalid');
    });

    it('refuses a token without sub', async () => {
      const s = await start();
      await expectRefusedEverywhere(s, hs256({ roles: ['admin'], exp: nowSeconds() + 600 }), 'token_invalid');
    });

    it('refuses a token whose sub is longer than 128 characters, and accepts one of exactly 128', async () => {
      const s = await start();
      await expectRefusedEverywhere(s, hs256({ sub: 'u'.repeat(129), exp: nowSeconds() + 600 }), 'token_invalid');
      await expectAcceptedEverywhere(s, hs256({ sub: 'u'.repeat(128), exp: nowSeconds() + 600 }), 'u'.repeat(128));
    });

    it('accepts a valid HS256 token on REST and on sockets', async () => {
      const s = await start();
      await expectAcceptedEverywhere(s, s.token('alice'), 'alice');
    });
  });

  describe('where the token travels', () => {
    it('refuses a valid token passed as ?token= or ?access_token= on REST', async () => {
      const s = await start();
      const token = s.token('alice');
      for (const name of ['token', 'access_token']) {
        const res = await s.request('GET', `${FEED}?${name}=${encodeURIComponent(token)}`);
        expect(res.status).toBe(401);
        const body = (await res.json()) as { error: { code: string } };
        expect(['token_missing', 'token_invalid']).toContain(body.error.code);
      }
    });

    it('refuses a valid token passed in the socket query string', async () => {
      const s = await start();
      const token = s.token('alice');
      for (const name of ['token', 'access_token']) {
        const err = await connectError(rawSocket(s, { query: { [name]: token } }));
        expect(err.message).toBe('unauthorized');
        expect(['token_missing', 'token_invalid']).toContain(err.data?.code);
      }
    });

    it('accepts an Authorization Bearer header on a socket handshake', async () => {
      const s = await start();
      const { socket, ready } = await s.connect('carol', { auth: {}, extraHeaders: { authorization: `Bearer ${s.token('carol')}` } });
      sockets.add(socket);
      expect(ready.userId).toBe('carol');
    });

    it('reads the Authorization scheme in any case, on a socket and over REST alike (RFC 9110)', async () => {
      const s = await start();
      for (const scheme of ['bearer', 'BEARER']) {
        const { socket, ready } = await s.connect('carol', { auth: {}, extraHeaders: { authorization: `${scheme} ${s.token('carol')}` } });
        sockets.add(socket);
        expect(ready.userId, scheme).toBe('carol');
        const res = await s.request('GET', '/api/me/subscriptions', { headers: { authorization: `${scheme} ${s.token('carol')}` } });
        expect(res.status, scheme).toBe(200);
      }
      const err = await connectError(rawSocket(s, { extraHeaders: { authorization: `Basic ${s.token('carol')}` } }));
      expect(err.data?.code).toBe('token_missing');
      const trailing = await s.request('GET', '/api/me/subscriptions', { headers: { authorization: `Bearer ${s.token('carol')} extra` } });
      expect(trailing.status).toBe(401);
    });

    it('refuses an expired token sent in a socket Authorization header with token_expired', async () => {
      const s = await start();
      const token = hs256({ sub: 'carol', exp: nowSeconds() - 60 });
      const err = await connectError(rawSocket(s, { extraHeaders: { authorization: `Bearer ${token}` } }));
      expect(err.message).toBe('unauthorized');
      expect(err.data?.code).toBe('token_expired');
    });
  });

  describe('issuer and audience', () => {
    const env = { JWT_ISSUER: 'https://id.herald.test', JWT_AUDIENCE: 'herald-api' };
    const claims = () => ({ sub: 'alice', exp: nowSeconds() + 600 });

    it('accepts a token with the configured iss and aud', async () => {
      const s = await start(env);
      await expectAcceptedEverywhere(s, hs256(claims(), { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE }), 'alice');
    });

    it('refuses a token with the wrong iss', async () => {
      const s = await start(env);
      await expectRefusedEverywhere(s, hs256(claims(), { issuer: 'https://evil.test', audience: env.JWT_AUDIENCE }), 'token_invalid');
    });

    it('refuses a token with the wrong aud', async () => {
      const s = await start(env);
      await expectRefusedEverywhere(s, hs256(claims(), { issuer: env.JWT_ISSUER, audience: 'another-api' }), 'token_invalid');
    });

    it('refuses a token without iss or aud when both are configured', async () => {
      const s = await start(env);
      await expectRefusedEverywhere(s, hs256(claims(), { audience: env.JWT_AUDIENCE }), 'token_invalid');
      await expectRefusedEverywhere(s, hs256(claims(), { issuer: env.JWT_ISSUER }), 'token_invalid');
    });
  });

  describe('asymmetric keys', () => {
    const claims = () => ({ sub: 'dave', exp: nowSeconds() + 600 });

    it('accepts a proper RS256 token when configured for RS256', async () => {
      const s = await start({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: keys.rsa.pem });
      await expectAcceptedEverywhere(s, jwt.sign(claims(), keys.rsa.privateKey, { algorithm: 'RS256' }), 'dave');
    });

    it('refuses an HS256 token signed with the RS256 public key PEM as secret (key-type confusion)', async () => {
      const s = await start({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: keys.rsa.pem });
      const forged = jwt.sign({ ...claims(), roles: ['admin'] }, createSecretKey(Buffer.from(keys.rsa.pem)), { algorithm: 'HS256' });
      await expectRefusedEverywhere(s, forged, 'token_invalid');
    });

    it('refuses an HS256 token signed with the HS secret when configured for RS256', async () => {
      const s = await start({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: keys.rsa.pem });
      await expectRefusedEverywhere(s, hs256(claims()), 'token_invalid');
    });

    it('refuses an RS256 token signed by another private key', async () => {
      const s = await start({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: keys.rsa.pem });
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await expectRefusedEverywhere(s, jwt.sign(claims(), other.privateKey, { algorithm: 'RS256' }), 'token_invalid');
    });

    it('accepts a proper ES256 token when configured for ES256', async () => {
      const s = await start({ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: keys.ec.pem });
      await expectAcceptedEverywhere(s, jwt.sign(claims(), keys.ec.privateKey, { algorithm: 'ES256' }), 'dave');
    });

    it('refuses an HS256 token signed with the ES256 public key PEM as secret (key-type confusion)', async () => {
      const s = await start({ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: keys.ec.pem });
      const forged = jwt.sign({ ...claims(), roles: ['admin'] }, createSecretKey(Buffer.from(keys.ec.pem)), { algorithm: 'HS256' });
      await expectRefusedEverywhere(s, forged, 'token_invalid');
    });

    it('refuses an RS256 token when configured for ES256', async () => {
      const s = await start({ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: keys.ec.pem });
      await expectRefusedEverywhere(s, jwt.sign(claims(), keys.rsa.privateKey, { algorithm: 'RS256' }), 'token_invalid');
    });
  });

  describe('roles', () => {
    const notification = { to: { user: 'bob' }, title: 'Hello' };

    async function expectForbidden(res: Response): Promise<void> {
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('forbidden');
    }

    it('forbids a plain user to publish', async () => {
      const s = await start();
      await expectForbidden(await s.request('POST', '/api/notifications', { token: s.token('alice'), body: notification }));
    });

    it('forbids a plain user to read admin stats', async () => {
      const s = await start();
      await expectForbidden(await s.request('GET', '/api/admin/stats', { token: s.token('alice') }));
    });

    it('lets admin:read read admin stats', async () => {
      const s = await start();
      const res = await s.request('GET', '/api/admin/stats', { token: s.token('viewer', { roles: ['admin:read'] }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toHaveProperty('connections');
      expect(body).toHaveProperty('nodes');
    });

    it('forbids admin:read to disconnect a socket', async () => {
      const s = await start();
      await expectForbidden(await s.request('DELETE', '/api/admin/connections/x', { token: s.token('viewer', { roles: ['admin:read'] }) }));
    });

    it('forbids admin:read to publish', async () => {
      const s = await start();
      await expectForbidden(await s.request('POST', '/api/notifications', { token: s.token('viewer', { roles: ['admin:read'] }), body: notification }));
    });

    it('lets a publisher publish', async () => {
      const s = await start();
      const res = await s.request('POST', '/api/notifications', { token: s.token('svc', { roles: ['publisher'] }), body: notification });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: string; streams: number };
      expect(typeof body.id).toBe('string');
      expect(body.streams).toBe(1);
    });

    it('lets an admin act on connections (404 for an unknown socket, not 403)', async () => {
      const s = await start();
      const res = await s.request('DELETE', '/api/admin/connections/x', { token: s.token('root', { roles: ['admin'] }) });
      expect(res.status).toBe(404);
    });
  });
});
