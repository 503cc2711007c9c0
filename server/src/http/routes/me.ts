import { Router } from 'express';
import { feedQuerySchema, readRequestSchema } from '../../../../protocol/requests.js';
import { principalOf } from '../authenticate.js';
import { param, parseWith, type HttpDeps } from '../deps.js';

/** The caller's own feed, read state and subscriptions. */
export function meRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.get('/me/notifications', async (req, res) => {
    res.json(await deps.feed.page(principalOf(req).userId, parseWith(feedQuerySchema, req.query)));
  });
  router.post('/me/notifications/read', async (req, res) => {
    res.json({ unreadCount: await deps.feed.markRead(principalOf(req).userId, parseWith(readRequestSchema, req.body)) });
  });
  router.get('/me/subscriptions', async (req, res) => {
    res.json({ topics: await deps.subscriptions.list(principalOf(req).userId) });
  });
  router.put('/me/subscriptions/:topic', async (req, res) => {
    const principal = principalOf(req);
    res.json({ topics: await deps.subscriptions.subscribe(principal.userId, param(req, 'topic'), principal.topics) });
  });
  router.delete('/me/subscriptions/:topic', async (req, res) => {
    res.json({ topics: await deps.subscriptions.unsubscribe(principalOf(req).userId, param(req, 'topic')) });
  });
  return router;
}
