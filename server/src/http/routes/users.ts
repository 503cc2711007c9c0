import { Router } from 'express';
import { canPublish } from '../../auth/principal.js';
import { userIdSchema } from '../../../../protocol/requests.js';
import { requireRole } from '../authenticate.js';
import { param, parseWith, type HttpDeps } from '../deps.js';

/** Publishers and admins managing other users' subscriptions, and presence. */
export function userRoutes(deps: HttpDeps): Router {
  const router = Router();
  const publisher = requireRole(canPublish, 'the publisher or admin role');
  const user = (raw: string | undefined) => parseWith(userIdSchema, raw);
  router.get('/users/:userId/subscriptions', publisher, async (req, res) => {
    res.json({ topics: await deps.subscriptions.list(user(param(req, 'userId'))) });
  });
  router.put('/users/:userId/subscriptions/:topic', publisher, async (req, res) => {
    res.json({ topics: await deps.subscriptions.subscribe(user(param(req, 'userId')), param(req, 'topic'), undefined) });
  });
  router.delete('/users/:userId/subscriptions/:topic', publisher, async (req, res) => {
    res.json({ topics: await deps.subscriptions.unsubscribe(user(param(req, 'userId')), param(req, 'topic')) });
  });
  router.get('/presence/users/:userId', publisher, async (req, res) => {
    res.json(await deps.directory.presence(user(param(req, 'userId'))));
  });
  return router;
}
