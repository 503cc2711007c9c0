import type { IncomingMessage } from 'node:http';
import { Passport } from 'passport';
import { Strategy as JwtStrategy } from 'passport-jwt';
import type { Principal } from '../auth/principal.js';
import { bearerToken, TokenVerifier } from '../auth/token-verifier.js';
import { isHeraldError } from '../errors.js';
import type { VerifiedTokens } from '../auth/verified-tokens.js';

/** The caller of a REST request (at once when its token was verified before), or a coded 401. */
export type Authenticate = (req: IncomingMessage) => Principal | Promise<Principal>;

/**
 * REST authentication through passport-jwt, with the same key, pinned algorithm
 * and claim checks as the socket middleware (one {@link TokenVerifier}) and the
 * one bearer parser; a token verified before is taken from `tokens` without
 * checking its signature again.
 */
export function passportAuthenticate(tokens: VerifiedTokens): Authenticate {
  const { verifier } = tokens;
  const passport = new Passport();
  passport.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: (req: IncomingMessage) => bearerToken(req.headers.authorization) ?? null,
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
  return (req) => {
    const token = bearerToken(req.headers.authorization);
    const known = tokens.known(token);
    if (known) return known;
    return new Promise((resolve, reject) => {
      const done = (err: unknown, user: Principal | false, info: unknown) => {
        if (err) return reject(err);
        if (!user) return reject(isHeraldError(info) ? info : TokenVerifier.toError(info));
        if (token !== undefined) tokens.remember(token, user);
        resolve(user);
      };
      // Passport's middleware needs no more of Express than the request: its callback takes the outcome.
      passport.authenticate('jwt', { session: false }, done)(req, undefined, reject);
    });
  };
}
