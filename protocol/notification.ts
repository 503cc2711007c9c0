/** A notification as one recipient sees it (SPEC §3): a feed entry, live or paged. */
export interface Notification {
  id: string;
  /** The entry's place in the deployment-wide sequence: resume after it with `auth.lastSeq` or `sync`. */
  seq: number;
  /** `user:<id>`, `topic:<name>` or `broadcast` (see rooms.ts). */
  stream: string;
  type: string;
  title: string;
  body?: string;
  data?: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}

/** The four kinds of target a notification is published to. */
export const TARGET_KINDS = ['user', 'users', 'topic', 'all'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];
