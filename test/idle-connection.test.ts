import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startServer, type TestServer } from './helpers.js';

/**
 * What an idle connection costs the server is what it keeps: nothing of its HTTP
 * upgrade request (not through the engine socket, the handshake, or the stand-in
 * response engine.io builds for its middlewares, held by the TCP socket's `close`
 * listener for the connection's life), and no function or object of its own for
 * its events, flood control or logging.
 */
describe('what an idle connection keeps', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A server whose engine middlewares also hand this test every response they see, as the middleware before it left them. */
  async function serverSeeingResponses() {
    server = await startServer();
    const responses: { req: IncomingMessage | undefined }[] = [];
    server.herald.io.engine.use((_req: IncomingMessage, res: { req: IncomingMessage | undefined }, next: () => void) => {
      responses.push(res);
      next();
    });
    return { server, responses };
  }

  it('lets go of the request of a WebSocket connection, its headers, query and token once it is ready', async () => {
    const { server: s, responses } = await serverSeeingResponses();
    const { ready } = await s.connect('ada', { query: { tag: 'x' } });
    expect(responses).toHaveLength(1);
    expect(responses[0]!.req).toBeUndefined();
    const socket = s.herald.io.of('/').sockets.get(ready.socketId)!;
    expect(socket.request).toBeUndefined();
    expect(socket.handshake).toMatchObject({ headers: {}, query: {}, auth: {} });
    expect(socket.data).toMatchObject({ address: '127.0.0.1', principal: { userId: 'ada' } });
  });

  it('lets go of the upgrade request of a client that started on long-polling', async () => {
    const { server: s, responses } = await serverSeeingResponses();
    const { socket } = await s.connect('bea', { transports: ['polling', 'websocket'] });
    await eventually(() => socket.io.engine.transport.name === 'websocket');
    const upgrades = responses.filter((res) => res.constructor.name === 'WebSocketResponse');
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!.req).toBeUndefined();
  });

  it('gives every socket the same listeners, and its flood control as numbers in data', async () => {
    server = await startServer();
    const [a, b] = [await server.connect('cy'), await server.connect('dee')];
    const [sa, sb] = [a, b].map(({ ready }) => server!.herald.io.of('/').sockets.get(ready.socketId)!);
    expect(sa!.listenersAny()).toHaveLength(1);
    expect(sa!.listenersAny()[0]).toBe(sb!.listenersAny()[0]);
    expect(sa!.listeners('disconnect')).toHaveLength(1);
    expect(sa!.listeners('disconnect')[0]).toBe(sb!.listeners('disconnect')[0]);
    expect(Object.values(sa!.data).filter((value) => typeof value === 'object').length).toBe(1); // the principal
    expect(sa!.data).toMatchObject({ tokens: 40, strikes: 0, refilledAt: expect.any(Number) });
  });
});
