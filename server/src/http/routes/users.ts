import type { Handlers } from '../dispatcher.js';
import type { HttpDeps } from '../deps.js';

/** Publishers and admins managing other users' subscriptions, and presence. */
export function userHandlers(deps: HttpDeps): Pick<Handlers, 'getUserSubscriptions' | 'subscribeUser' | 'unsubscribeUser' | 'getUserPresence'> {
  return {
    getUserSubscriptions: async ({ params }) => ({ topics: await deps.subscriptions.list(params.userId) }),
    // No topic policy: the caller is a service or an admin acting for the user.
    subscribeUser: async ({ params }) => ({ topics: await deps.subscriptions.subscribe(params.userId, params.topic, undefined) }),
    unsubscribeUser: async ({ params }) => ({ topics: await deps.subscriptions.unsubscribe(params.userId, params.topic) }),
    getUserPresence: ({ params }) => deps.directory.presence(params.userId),
  };
}
