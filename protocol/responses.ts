/** The answers of the REST API and of the socket acknowledgements (SPEC §4, §5). */
import type { Notification } from './notification.js';

export interface PublishResponse {
  id: string;
  createdAt: string;
  streams: number;
}
export type BatchResult = { id: string } | { error: { code: string; message: string; details?: unknown } };

export interface FeedResponse {
  items: Notification[];
  unreadCount: number;
  nextCursor: number | null;
}
