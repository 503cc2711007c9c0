import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { HeraldConfig } from '../config.js';
import { HeraldError } from '../errors.js';
import { claimsSchema, type Principal } from './principal.js';

export interface VerifierKeys {
  algorithm: HeraldConfig['jwt']['algorithm'];
  /** The verification key, built once: a KeyObject avoids jsonwebtoken's per-call key parsing. */
  key: KeyObject;
  issuer: string | undefined;
  audience: string | undefined;
}

/** Builds the verification key from the configuration (HS256 secret or public key). */
export function verifierKeys(jwtConfig: HeraldConfig['jwt'], secret: string | undefined): VerifierKeys {
  const key =
    jwtConfig.algorithm === 'HS256'
      ? createSecretKey(Buffer.from(requireValue(secret, 'JWT_SECRET')))
      : createPublicKey(requireValue(jwtConfig.publicKey, 'JWT_PUBLIC_KEY'));
  return { algorithm: jwtConfig.algorithm, key, issuer: jwtConfig.issuer, audience: jwtConfig.audience };
}

function requireValue(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** The token of an `Authorization: Bearer <token>` header, the scheme in any case (RFC 9110); nothing may follow the token. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^\s*(\S+)\s+(\S+)\s*$/);
  return match && match[1]!.toLowerCase() === 'bearer' ? match[2] : undefined;
}

/**
 * The one token verifier shared by REST (through passport-jwt) and sockets: the
 * algorithm is pinned, `exp` and `sub` are required, `iss`/`aud` checked when set.
 *
 * @example
 * const principal = verifier.verify(token); // throws HeraldError('token_expired', …)
 */
export class TokenVerifier {
  /** Options for `jsonwebtoken.verify`, also handed to passport-jwt. */
  readonly verifyOptions: jwt.VerifyOptions & { complete?: false };

  constructor(readonly keys: VerifierKeys) {
    this.verifyOptions = {
      algorithms: [keys.algorithm],
      ...(keys.issuer ? { issuer: keys.issuer } : {}),
      ...(keys.audience ? { audience: keys.audience } : {}),
    };
  }

  verify(token: string | undefined): Principal {
    if (!token) throw new HeraldError('token_missing', 'a bearer token is required');
    let payload: unknown;
    try {
      payload = jwt.verify(token, this.keys.key, this.verifyOptions);
    } catch (err) {
      throw TokenVerifier.toError(err);
    }
    return TokenVerifier.toPrincipal(payload);
  }

  /** Maps a jsonwebtoken (or passport-jwt) failure to a coded 401. */
  static toError(err: unknown): HeraldError {
    if (err instanceof jwt.TokenExpiredError) return new HeraldError('token_expired', 'the token has expired');
    if (err instanceof jwt.JsonWebTokenError || err instanceof jwt.NotBeforeError) {
      return new HeraldError('token_invalid', `the token is invalid: ${err.message}`);
    }
    if (err instanceof Error && err.message === 'No auth token') {
      return new HeraldError('token_missing', 'a bearer token is required');
    }
    throw err;
  }

  /** Checks the claims of a verified payload. */
  static toPrincipal(payload: unknown): Principal {
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      const field = String(claims.error.issues[0]?.path[0] ?? 'claims');
      throw new HeraldError('token_invalid', `the token is invalid: claim "${field}" is missing or malformed`);
    }
    const { sub, exp, roles, topics } = claims.data;
    return { userId: sub, roles, topics, expiresAt: exp * 1000 };
  }
}

export interface SignOptions {
  sub: string;
  roles?: string[];
  topics?: string[];
  /** Lifetime in seconds. @default 3600 */
  expiresIn?: number;
}

/** Signs an HS256 token (used by `npm run token` and the start-up admin link). */
export function signToken(secret: string, opts: SignOptions, jwtConfig?: Pick<HeraldConfig['jwt'], 'issuer' | 'audience'>): string {
  const payload: Record<string, unknown> = { sub: opts.sub };
  if (opts.roles?.length) payload.roles = opts.roles;
  if (opts.topics) payload.topics = opts.topics;
  return jwt.sign(payload, createSecretKey(Buffer.from(secret)), {
    algorithm: 'HS256',
    expiresIn: opts.expiresIn ?? 3600,
    ...(jwtConfig?.issuer ? { issuer: jwtConfig.issuer } : {}),
    ...(jwtConfig?.audience ? { audience: jwtConfig.audience } : {}),
  });
}
