/** The roles a token's `roles` claim may hold; Herald ignores any other. */
export const ROLES = ['admin', 'admin:read', 'publisher'] as const;
export type Role = (typeof ROLES)[number];
