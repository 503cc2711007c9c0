/**
 * Prints a token the running server accepts:
 *   npm run token -- --sub alice --roles publisher [--topics 'team.42.*'] [--ttl 3600]
 * It signs with JWT_SECRET, or the development secret kept in DATA_DIR.
 */
import { parseArgs } from 'node:util';
import { loadOrCreateDevSecret } from '../server/src/auth/dev-secret.js';
import { signToken } from '../server/src/auth/token-verifier.js';
import { ConfigError, loadConfig } from '../server/src/config.js';

const USAGE = "npm run token -- --sub alice --roles publisher [--topics 'team.42.*'] [--ttl 3600]";

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n`);
  process.exit(1);
}

function options() {
  try {
    return parseArgs({
      options: {
        sub: { type: 'string' },
        roles: { type: 'string', default: '' },
        topics: { type: 'string' },
        ttl: { type: 'string', default: '3600' },
      },
    }).values;
  } catch (err) {
    // An unknown option or a stray word: one line, with the usage.
    fail(`${(err as Error).message}; usage: ${USAGE}`);
  }
}

const values = options();

try {
  const config = loadConfig(process.env);
  if (!values.sub) fail(`--sub is required; usage: ${USAGE}`);
  if (config.jwt.algorithm !== 'HS256') fail(`JWT_ALGORITHM is ${config.jwt.algorithm}: sign tokens with your identity provider`);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');
  const secret = config.jwt.secret ?? loadOrCreateDevSecret(config.dataDir);
  const split = (list: string) => list.split(',').map((s) => s.trim()).filter(Boolean);
  const token = signToken(
    secret,
    { sub: values.sub, roles: split(values.roles), ...(values.topics !== undefined ? { topics: split(values.topics) } : {}), expiresIn: ttl },
    config.jwt,
  );
  process.stdout.write(`${token}\n`);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
