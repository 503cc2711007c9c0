import type { Logger } from 'pino';
import { HeraldError, isHeraldError } from '../errors.js';
import type { Ack } from '../../../protocol/events.js';

/**
 * The one place socket acknowledgements are built: a result becomes
 * `{ ok: true, … }`, a HeraldError `{ ok: false, error: { code, message } }`, and
 * anything else (the store or Redis failing) is logged and answered `unavailable`.
 * `log` is called only when something is logged: a socket's child logger is
 * built on demand rather than kept for every connection.
 */
export async function answer<T extends object>(
  log: () => Logger,
  ack: ((response: Ack<T>) => void) | undefined,
  work: () => Promise<T>,
): Promise<void> {
  let response: Ack<T>;
  try {
    response = { ok: true, ...(await work()) };
  } catch (err) {
    response = { ok: false, error: toAckError(log, err) };
  }
  ack?.(response);
}

export function toAckError(log: () => Logger, err: unknown): { code: HeraldError['code']; message: string } {
  if (isHeraldError(err)) return { code: err.code, message: err.message };
  log().error({ err }, 'socket request failed');
  return { code: 'unavailable', message: 'the server could not complete the request; try again' };
}
