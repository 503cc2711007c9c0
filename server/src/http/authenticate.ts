import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { Strategy as JwtStrategy } from 'passport-jwt';
import type { Principal } from '../auth/principal.js';
import { bearerToken, TokenVerifier } from '../auth/token-verifier.js';
import { HeraldError, isHeraldError } from '../errors.js';
import type { VerifiedTokens } from '../auth/verified-tokens.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** The JSON body as received, kept for idempotency hashing. */
    rawBody?: Buffer;
  }
}

/**
 * REST authentication through passport-jwt, with the same key, pinned algorithm
 * and claim checks as the socket middleware (one {@link TokenVerifier}); a token
 * verified before is taken from `tokens` without checking its signature again.
 */
export function createAuthenticate(tokens: VerifiedTokens): RequestHandler {
  const { verifier } = tokens;
  const passport = new Passport();
  passport.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: (req: Request) => bearerToken(req.headers.authorization) ?? null,
        secretOrKey: verifier.keys.key as unknown as string,
        algorithms: [verifier.keys.algorithm],
        ...(verifier.keys.issuer ? { issuer: verifier.keys.issuer } : {}),
        ...(verifier.keys.audience ? { audience: verifier.keys.audience } : {}),
      },
      (payload: unknown, done: (err: unknown, user?: Principal | false, info?: unknown) => void) => {
        try {
          done(null, TokenVerifier.toPrincipal(payload));
        } catch (err) {
          if (!isHeraldError(err)) throw err;
          done(null, false, err);
        }
      },
    ),
  );
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.query.token !== undefined || req.query.access_token !== undefined) {
      next(new HeraldError('token_invalid', 'tokens in the query string are refused; send an Authorization: Bearer header'));
      return;
    }
    const token = bearerToken(req.headers.authorization);
    const known = tokens.known(token);
    if (known) {
      req.principal = known;
      next();
      return;
    }
    passport.authenticate('jwt', { session: false }, (err: unknown, user: Principal | false, info: unknown) => {
      if (err) return next(err);
      if (!user) return next(isHeraldError(info) ? info : TokenVerifier.toError(info));
      if (token !== undefined) tokens.remember(token, user);
      req.principal = user;
      next();
    })(req, res, next);
  };
}

/** Refuses callers that `allowed` rejects with 403. */
export const requireRole =
  (allowed: (p: Principal) => boolean, what: string): RequestHandler =>
  (req, _res, next) => {
    next(req.principal && allowed(req.principal) ? undefined : new HeraldError('forbidden', `this route requires ${what}`));
  };

/** The verified caller of a route behind `authenticate`. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('principalOf() used on a route without authentication');
  return req.principal;
}
