/**
 * Baseline 1: a raw `ws` server. A publish is encoded once into a Buffer and
 * sent to every open client, the broadcast of ws's own README.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { announce, publishHandler } from './http-publish.js';

const server = createServer(
  publishHandler((message) => {
    const data = Buffer.from(JSON.stringify(message));
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false });
  }),
);
const wss = new WebSocketServer({ server, perMessageDeflate: false });
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
