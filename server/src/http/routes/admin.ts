import { HeraldError } from '../../errors.js';
import type { Handlers } from '../dispatcher.js';
import type { HttpDeps } from '../deps.js';

/** `/api/admin/*`: views for `admin` and `admin:read`, actions for `admin` only. */
export function adminHandlers(deps: HttpDeps): Pick<Handlers, 'getAdminStats' | 'listRooms' | 'listConnections' | 'disconnectSocket' | 'disconnectUser'> {
  return {
    getAdminStats: () => deps.directory.stats(),
    listRooms: ({ query }) => deps.directory.rooms(query),
    listConnections: ({ query }) => deps.directory.connections(query),
    disconnectSocket: async ({ params }) => {
      if (!(await deps.directory.disconnectSocket(params.socketId))) throw new HeraldError('not_found', 'no connection with that socket id');
    },
    disconnectUser: async ({ params }) => ({ disconnected: await deps.directory.disconnectUser(params.userId) }),
  };
}
