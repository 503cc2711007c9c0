/**
 * The contract's types, imported (types only, nothing is bundled) so that an
 * event name or a payload field cannot drift between Herald and its admin UI.
 */
export type { ActivitySample, AdminStats, ConnectionInfo, ConnectionQuery, NodeStats, Page, RecentNotification, RoomInfo, RoomQuery } from '../../protocol/admin.js';
export type { AdminClientToServerEvents, AdminReadyPayload, AdminServerToClientEvents } from '../../protocol/events.js';
export type { ErrorBody, ErrorCode } from '../../protocol/errors.js';
// Not yet in protocol/ (their zod schemas are the server's): the publish target and reply.
export type { Target } from '../../server/src/domain/notification.js';
export type { PublishResponse } from '../../server/src/domain/notification-service.js';
