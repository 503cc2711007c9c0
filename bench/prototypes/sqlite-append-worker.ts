/**
 * EXPERIMENT: the writer thread of {@link OffThreadAppendStore}. It owns a
 * SqliteStore (Herald's own, with its group commit, WAL and synchronous=FULL) and
 * performs only appends, so that the inserts and the fsync leave the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../../server/src/store/sqlite-store.js';
import type { AppendItem, IdempotencyRecord } from '../../server/src/store/store.js';

const store = new SqliteStore({ dataDir: (workerData as { dataDir: string }).dataDir });
parentPort!.on('message', (message: { id: number; items?: AppendItem[]; idempotency?: IdempotencyRecord; close?: true }) => {
  if (message.close) {
    void store.close().then(() => parentPort!.postMessage({ id: message.id, results: [] }));
    return;
  }
  store.append(message.items!, message.idempotency).then(
    (results) => parentPort!.postMessage({ id: message.id, results }),
    (err: unknown) => parentPort!.postMessage({ id: message.id, error: String(err) }),
  );
});
