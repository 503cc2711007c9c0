import { expect, test, unlabelledControls } from './fixtures.js';
import { nextEvent } from '../helpers.js';
import type { Notification } from '../../protocol/notification.js';

const XSS = '<img src=x onerror=alert(1)>';

test.describe('actions and safety', () => {
  test('a notification sent from the form reaches a connected client', async ({ page, server, adminToken, signIn, shot }) => {
    const { socket } = await server.connect('carol');
    await signIn(adminToken, 'Send and manage');
    await expect(page.getByRole('heading', { level: 1, name: 'Send and manage' })).toBeVisible();
    expect(await unlabelledControls(page)).toEqual([]);
    const form = page.getByRole('form', { name: 'Send a notification' });
    await form.getByRole('radio', { name: 'A user' }).check();
    await form.getByLabel('User id').fill('carol');
    await form.getByLabel('Title').fill('Deploy finished');
    await form.getByLabel('Type').fill('deploy.done');
    await form.getByLabel('Body').fill('Version 2.4.1 is live in every region.');
    await form.getByLabel('Data (JSON object)').fill('{"version": "2.4.1"}');
    const received = nextEvent<Notification>(socket, 'notification');
    await form.getByRole('button', { name: 'Send notification' }).click();
    const notification = await received;
    expect(notification).toMatchObject({ title: 'Deploy finished', type: 'deploy.done', body: 'Version 2.4.1 is live in every region.', data: { version: '2.4.1' }, stream: 'user:carol' });
    await expect(form.getByRole('status')).toContainText(`Sent to user carol`);
    await expect(form.getByRole('status')).toContainText(notification.id);
    await shot('actions');

    // It is listed among the latest notifications, with its target.
    await page.getByRole('link', { name: 'Latest notifications' }).click();
    const row = page.locator(`tr[data-id="${notification.id}"]`);
    await expect(row).toContainText('Deploy finished');
    await expect(row).toContainText('user carol');
    await expect(row).toContainText('ops');
  });

  test('subscribing a user from the form joins their connected socket to the topic', async ({ page, server, adminToken, signIn }) => {
    const { socket } = await server.connect('dave');
    await signIn(adminToken, 'Send and manage');
    const form = page.getByRole('form', { name: 'Topic subscriptions' });
    await form.getByLabel('User id').fill('dave');
    await form.getByLabel('Topic', { exact: true }).fill('ops.alerts');
    const changed = nextEvent<{ topics: string[] }>(socket, 'subscriptions');
    await form.getByRole('button', { name: 'Subscribe', exact: true }).click();
    expect(await changed).toEqual({ topics: ['ops.alerts'] });
    await expect(form.getByRole('status')).toContainText('Subscribed dave to ops.alerts');

    const topicSend = page.getByRole('form', { name: 'Send a notification' });
    await topicSend.getByRole('radio', { name: 'A topic' }).check();
    await topicSend.getByLabel('Topic', { exact: true }).fill('ops.alerts');
    await topicSend.getByLabel('Title').fill('Disk 91% full on db-2');
    const received = nextEvent<Notification>(socket, 'notification');
    await topicSend.getByRole('button', { name: 'Send notification' }).click();
    expect(await received).toMatchObject({ title: 'Disk 91% full on db-2', stream: 'topic:ops.alerts' });

    const left = nextEvent<{ topics: string[] }>(socket, 'subscriptions');
    await form.getByRole('button', { name: 'Unsubscribe dave from ops.alerts' }).click();
    expect(await left).toEqual({ topics: [] });
  });

  test('sending to everyone asks first, then reaches every connected client', async ({ page, server, adminToken, signIn }) => {
    const clients = await Promise.all(['frank', 'grace'].map((u) => server.connect(u)));
    await signIn(adminToken, 'Send and manage');
    const form = page.getByRole('form', { name: 'Send a notification' });
    await form.getByRole('radio', { name: 'Everyone' }).check();
    await expect(form.getByLabel('User id')).toBeHidden();
    await form.getByLabel('Title').fill('Maintenance at 22:00 UTC');
    await form.getByRole('button', { name: 'Send notification' }).click();
    const dialog = page.getByRole('dialog', { name: 'Are you sure?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(form.getByRole('status')).toHaveCount(0);

    const received = clients.map(({ socket }) => nextEvent<Notification>(socket, 'notification'));
    await form.getByRole('button', { name: 'Send notification' }).click();
    await dialog.getByRole('button', { name: 'Send to everyone' }).click();
    for (const notification of await Promise.all(received)) expect(notification).toMatchObject({ title: 'Maintenance at 22:00 UTC', stream: 'broadcast' });
    await expect(form.getByRole('status')).toContainText('Sent to everyone');
  });

  test('admin:read sees no actions, and the server refuses them', async ({ page, server, request, signIn, shot }) => {
    const reader = server.token('watcher', { roles: ['admin:read'] });
    const { socket } = await server.connect('erin');
    await signIn(reader, 'Connections');
    await expect(page.getByText('read-only', { exact: true })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link')).toHaveText(['Overview', 'Rooms and topics', 'Connections', 'Latest notifications']);
    const row = page.locator(`tr[data-socket-id="${socket.id}"]`);
    await expect(row).toBeVisible();
    await expect(page.getByRole('button', { name: /disconnect/i })).toHaveCount(0);
    await expect(page.getByRole('columnheader', { name: 'Actions' })).toHaveCount(0);
    await shot('connections-read-only');

    await page.goto(`${server.url}/admin/#/actions`);
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await page.getByRole('link', { name: 'Rooms and topics' }).click();
    await page.getByLabel('Show').selectOption('user');
    await expect(page.getByRole('button', { name: 'Connections in user:erin' })).toBeVisible();
    await expect(page.getByRole('button', { name: /^(Send|Disconnect)/ })).toHaveCount(0);

    const headers = { authorization: `Bearer ${reader}` };
    expect((await request.delete(`${server.url}/api/admin/connections/${socket.id}`, { headers })).status()).toBe(403);
    expect((await request.delete(`${server.url}/api/admin/users/erin/connections`, { headers })).status()).toBe(403);
    expect((await request.put(`${server.url}/api/users/erin/subscriptions/news`, { headers })).status()).toBe(403);
    expect((await request.post(`${server.url}/api/notifications`, { headers, data: { to: { all: true }, title: 'x' } })).status()).toBe(403);
    expect(socket.connected).toBe(true);
  });

  test('text supplied by users and publishers renders as text', async ({ page, server, adminToken, signIn, shot }) => {
    const publisher = server.token('<b>billing</b>', { roles: ['publisher'] });
    await server.connect('<script>alert(2)</script>');
    for (const title of ['Your order shipped', XSS, 'Invoice 1042 is overdue']) {
      const res = await server.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'mallory' }, title } });
      expect(res.status).toBe(202);
    }
    await signIn(adminToken, 'Latest notifications');
    const cell = page.locator('td.title', { hasText: XSS });
    await expect(cell).toHaveText(XSS);
    await expect(page.locator('tbody tr').filter({ hasText: XSS })).toContainText('<b>billing</b>');
    await expect(page.locator('main img')).toHaveCount(0);
    await expect(page.locator('main b')).toHaveCount(0);
    await shot('notifications');

    await page.getByRole('link', { name: 'Connections' }).click();
    await expect(page.getByRole('button', { name: '<script>alert(2)</script>', exact: true })).toBeVisible();
    await expect(page.locator('main script')).toHaveCount(0);
    // The page fixture fails the test if any alert() ran.
  });
});
