import type { Principal } from './principal.js';
import type { TokenVerifier } from './token-verifier.js';

/** How many verified tokens are remembered (oldest forgotten first). */
const CAPACITY = 10_000;

/**
 * Tokens already verified, by their exact text, until they expire. A service
 * publishing thousands of times a second sends the same token each time; its
 * signature is checked once, not on every request.
 */
export class VerifiedTokens {
  private readonly tokens = new Map<string, Principal>();

  constructor(readonly verifier: TokenVerifier) {}

  /** The principal of a token seen before and not yet expired. */
  known(token: string | undefined): Principal | undefined {
    if (token === undefined) return undefined;
    const principal = this.tokens.get(token);
    if (principal && principal.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return undefined;
    }
    return principal;
  }

  remember(token: string, principal: Principal): void {
    if (this.tokens.size >= CAPACITY) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, principal);
  }

  /** Verifies a token (throws the coded 401) or returns what an earlier verification found. */
  verify(token: string | undefined): Principal {
    const known = this.known(token);
    if (known) return known;
    const principal = this.verifier.verify(token);
    this.remember(token!, principal);
    return principal;
  }
}
