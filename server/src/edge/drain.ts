import { setTimeout as sleep } from 'node:timers/promises';

/** The interval between two batches of a drain. */
const TICK_MS = 100;

/**
 * Closes what `current()` lists in equal batches, one every 100 ms, so that the
 * last batch goes at about `durationMs`: N connections of a draining node
 * reconnect elsewhere at N / (durationMs / 100) per tick instead of all in the
 * same second. Each tick re-reads the list, so a connection that left by itself
 * is not counted. Resolves once the list is empty, or one second after the
 * last batch if some are still closing.
 *
 * @example
 * await closeInBatches(() => Object.values(io.engine.clients), (conn) => conn.close(), 10_000);
 */
export async function closeInBatches<T>(current: () => T[], close: (item: T) => void, durationMs: number): Promise<void> {
  const ticks = Math.max(1, Math.floor(durationMs / TICK_MS));
  const closed = new WeakSet<object>();
  for (let tick = 0; tick < ticks; tick++) {
    const open = current().filter((item) => !closed.has(item as object));
    if (open.length === 0) return;
    const batch = Math.ceil(open.length / (ticks - tick));
    for (const item of open.slice(0, batch)) {
      closed.add(item as object);
      close(item);
    }
    if (tick < ticks - 1) await sleep(TICK_MS);
  }
  // The last batch is closing: give its graceful closes a moment to complete.
  for (let waited = 0; waited < 1000 && current().length > 0; waited += 50) await sleep(50);
}
