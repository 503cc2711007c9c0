import type { Handlers } from '../dispatcher.js';
import type { HttpDeps } from '../deps.js';

/** The caller's own feed, read state and subscriptions. */
export function meHandlers(deps: HttpDeps): Pick<Handlers, 'getMyFeed' | 'markMyNotificationsRead' | 'getMySubscriptions' | 'subscribeMe' | 'unsubscribeMe'> {
  return {
    getMyFeed: ({ principal, query }) => deps.feed.page(principal.userId, query),
    markMyNotificationsRead: async ({ principal, body }) => ({ unreadCount: await deps.feed.markRead(principal.userId, body) }),
    getMySubscriptions: async ({ principal }) => ({ topics: await deps.subscriptions.list(principal.userId) }),
    subscribeMe: async ({ principal, params }) => ({ topics: await deps.subscriptions.subscribe(principal.userId, params.topic, principal.topics) }),
    unsubscribeMe: async ({ principal, params }) => ({ topics: await deps.subscriptions.unsubscribe(principal.userId, params.topic) }),
  };
}
