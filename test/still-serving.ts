import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestClient, TestServer } from './helpers.js';

/** The well-behaved user whose socket stays open through every attack. */
export const VICTIM = 'victim';

/** Resolves with the first `notification` on `socket` whose title is `title`. */
export function notificationTitled<T = { title: string; data?: Record<string, unknown> }>(socket: TestClient, title: string, ms = 1000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onNotification = (n: { title: string }) => {
      if (n.title !== title) return;
      clearTimeout(timer);
      socket.off('notification', onNotification);
      resolve(n as T);
    };
    const timer = setTimeout(() => {
      socket.off('notification', onNotification);
      reject(new Error(`no notification "${title}" within ${ms} ms`));
    }, ms);
    socket.on('notification', onNotification);
  });
}

/** The server still answers, and the victim still receives a REST publish on its open socket. */
export async function assertStillServing(server: TestServer, victim: TestClient): Promise<void> {
  const health = await server.request('GET', '/healthz');
  expect(health.status).toBe(200);
  expect(victim.connected).toBe(true);
  const title = `still serving ${randomUUID()}`;
  const received = notificationTitled(victim, title);
  const res = await server.request('POST', '/api/notifications', {
    token: server.token('svc', { roles: ['publisher'] }),
    body: { to: { user: VICTIM }, title },
  });
  expect(res.status).toBe(202);
  await expect(received).resolves.toMatchObject({ title });
}

