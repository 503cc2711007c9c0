import { Router } from 'express';
import { z } from 'zod';
import { canReadAdmin, isAdmin } from '../../auth/principal.js';
import { userIdSchema } from '../../../../protocol/requests.js';
import { HeraldError } from '../../errors.js';
import { requireRole } from '../authenticate.js';
import { param, parseWith, type HttpDeps } from '../deps.js';

const limit = z.coerce.number().int().min(1).max(500).default(50);
const cursor = z.string().max(512).regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by the previous page').optional();

export const roomsQuerySchema = z.object({ prefix: z.string().max(140).optional(), limit, cursor });
export const connectionsQuerySchema = z.object({
  user: userIdSchema.optional(),
  room: z.string().min(1).max(140).optional(),
  node: z.string().min(1).max(256).optional(),
  limit,
  cursor,
});

/** `/api/admin/*`: views for `admin` and `admin:read`, actions for `admin` only. */
export function adminRoutes(deps: HttpDeps): Router {
  const router = Router();
  const reader = requireRole(canReadAdmin, 'the admin or admin:read role');
  const admin = requireRole(isAdmin, 'the admin role');
  router.get('/admin/stats', reader, async (_req, res) => {
    res.json(await deps.directory.stats());
  });
  router.get('/admin/rooms', reader, async (req, res) => {
    res.json(await deps.directory.rooms(parseWith(roomsQuerySchema, req.query)));
  });
  router.get('/admin/connections', reader, async (req, res) => {
    res.json(await deps.directory.connections(parseWith(connectionsQuerySchema, req.query)));
  });
  router.delete('/admin/connections/:socketId', admin, async (req, res) => {
    if (!(await deps.directory.disconnectSocket(param(req, 'socketId')))) {
      throw new HeraldError('not_found', 'no connection with that socket id');
    }
    res.status(204).end();
  });
  router.delete('/admin/users/:userId/connections', admin, async (req, res) => {
    res.json({ disconnected: await deps.directory.disconnectUser(parseWith(userIdSchema, param(req, 'userId'))) });
  });
  return router;
}
