import { z } from 'zod';
import { ROLES, type Role } from '../../../protocol/roles.js';

/** The claims Herald reads from a verified token. Unknown roles are ignored. */
export const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  exp: z.number(),
  roles: z
    .array(z.string())
    .optional()
    .transform((roles) => (roles ?? []).filter((r): r is Role => (ROLES as readonly string[]).includes(r))),
  topics: z.array(z.string().min(1).max(129)).max(1000).optional(),
});

/** Who is calling, after the token was verified. */
export interface Principal {
  readonly userId: string;
  readonly roles: readonly Role[];
  /** Topic patterns from the `topics` claim; `undefined` allows every topic. */
  readonly topics: readonly string[] | undefined;
  /** Token expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

export const isAdmin = (p: Principal): boolean => p.roles.includes('admin');
export const canReadAdmin = (p: Principal): boolean => isAdmin(p) || p.roles.includes('admin:read');
export const canPublish = (p: Principal): boolean => isAdmin(p) || p.roles.includes('publisher');
