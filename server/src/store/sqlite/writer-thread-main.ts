/**
 * The writer thread's entry point: one connection to the file, running the
 * groups of writes the event loop posts, in the order they arrive.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configureConnection, describeError, SqliteWrites, type WriteOp } from './writes.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './writer-thread.js';

function serveWrites(port: MessagePort, { file }: WriterThreadData): void {
  const db = new Database(file);
  configureConnection(db);
  const writes = new SqliteWrites(db);
  port.on('message', (request: WriterRequest) => {
    if (request.close) {
      db.close();
      port.close();
      return;
    }
    let reply: WriterReply;
    try {
      reply = { n: request.n, outcomes: writes.run(JSON.parse(request.ops) as WriteOp[]) };
    } catch (err) {
      reply = { n: request.n, error: describeError(err) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true } satisfies WriterReply);
}

serveWrites(parentPort!, workerData as WriterThreadData);
