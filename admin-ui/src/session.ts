const STORAGE_KEY = 'herald.admin.token';

/** Claims read from the token for display only (the expiry); the server verifies it. */
export interface TokenClaims {
  sub?: string;
  exp?: number;
}

/**
 * The admin token, kept in sessionStorage (gone when the tab closes, never in a
 * cookie, never in a URL): it travels in the `Authorization` header and the
 * socket's `auth`, so no other site can make the browser send it.
 */
export class Session {
  constructor(private readonly storage: Storage) {}

  get token(): string | null {
    return this.storage.getItem(STORAGE_KEY);
  }

  signIn(token: string): void {
    this.storage.setItem(STORAGE_KEY, token.trim());
  }

  signOut(): void {
    this.storage.removeItem(STORAGE_KEY);
  }

  claims(): TokenClaims | null {
    const payload = this.token?.split('.')[1];
    if (!payload) return null;
    try {
      const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
      const claims: unknown = JSON.parse(json);
      return claims && typeof claims === 'object' ? (claims as TokenClaims) : null;
    } catch {
      return null;
    }
  }

  /**
   * Takes the token of a start-up link (`/admin/#token=…`) and removes it from
   * the address bar and from the history entry before anything else runs.
   */
  static takeTokenFromLocation(location: Location, history: History): string | null {
    const match = /^#token=([^&]+)/.exec(location.hash);
    if (!match) return null;
    history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
    try {
      return decodeURIComponent(match[1]!);
    } catch {
      return null;
    }
  }
}
