import pino, { type Logger } from 'pino';

/**
 * The root logger. Authorization headers, tokens and bodies are redacted at
 * the source, so no log line carries a credential.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'body', '*.body'], censor: '[redacted]' },
    },
    destination,
  );
}
