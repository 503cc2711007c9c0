import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import type { Principal } from '../auth/principal.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { HeraldError, isHeraldError } from '../errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** The JSON body as received, kept for idempotency hashing. */
    rawBody?: Buffer;
  }
}

/** How many verified tokens are remembered (oldest forgotten first). */
const VERIFIED_TOKENS = 10_000;

/**
 * REST authentication through passport-jwt, with the same key, pinned algorithm
 * and claim checks as the socket middleware (one {@link TokenVerifier}).
 */
export function createAuthenticate(verifier: TokenVerifier): RequestHandler {
  const passport = new Passport();
  passport.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
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
  // A service publishing thousands of times a second sends the same token each
  // time: a token verified once is remembered (until it expires) by its exact
  // text, so its signature is not checked again on every request.
  const verified = new Map<string, Principal>();
  const remember = (token: string, principal: Principal) => {
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
    verified.set(token, principal);
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.query.token !== undefined || req.query.access_token !== undefined) {
      next(new HeraldError('token_invalid', 'tokens in the query string are refused; send an Authorization: Bearer header'));
      return;
    }
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const known = token === undefined ? undefined : verified.get(token);
    if (known && known.expiresAt > Date.now()) {
      req.principal = known;
      next();
      return;
    }
    if (known) verified.delete(token!);
    passport.authenticate('jwt', { session: false }, (err: unknown, user: Principal | false, info: unknown) => {
      if (err) return next(err);
      if (!user) return next(isHeraldError(info) ? info : TokenVerifier.toError(info));
      if (token !== undefined) remember(token, user);
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
