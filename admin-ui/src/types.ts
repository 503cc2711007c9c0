/**
 * The server's own types, imported (types only, nothing is bundled) so that an
 * event name or a payload field cannot drift between Herald and its admin UI.
 */
export type {
  ActivitySample,
  AdminClientToServerEvents,
  AdminReadyPayload,
  AdminServerToClientEvents,
  AdminStats,
  ConnectionInfo,
  NodeStats,
  Page,
  RecentNotification,
  RoomInfo,
} from '../../server/src/realtime/events.js';
export type { ConnectionQuery, RoomQuery } from '../../server/src/realtime/admin-directory.js';
export type { Target } from '../../server/src/domain/notification.js';
export type { PublishResponse } from '../../server/src/domain/notification-service.js';
export type { ErrorBody, ErrorCode } from '../../protocol/errors.js';
