/**
 * The contract's types, imported (types only, nothing is bundled) so that an
 * event name or a payload field cannot drift between Herald and its admin UI.
 */
export type { ActivitySample, AdminStats, ConnectionInfo, ConnectionQuery, NodeStats, Page, RecentNotification, RoomInfo, RoomQuery } from '../../protocol/admin.js';
export type { AdminClientToServerEvents, AdminReadyPayload, AdminServerToClientEvents } from '../../protocol/events.js';
export type { ErrorBody, ErrorCode } from '../../protocol/errors.js';
export type { Target } from '../../protocol/requests.js';
export type { PublishResponse } from '../../protocol/responses.js';
