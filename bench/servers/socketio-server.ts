/**
 * Baseline 2: bare Socket.IO, no authentication, no store: every socket joins
 * one room, and a publish is `io.to(room).emit`, encoded once for all.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { announce, publishHandler } from './http-publish.js';

const ROOM = 'bench';
const server = createServer(publishHandler((message) => io.to(ROOM).emit('notification', message)));
const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  void socket.join(ROOM);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
