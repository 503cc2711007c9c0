import { expect, statValue, test, unlabelledControls } from './fixtures.js';
import { nextEvent, sleep } from '../helpers.js';

test.describe('live views', () => {
  test('the connection count rises when a client connects and falls when it leaves', async ({ page, server, adminToken, signIn }) => {
    await signIn(adminToken);
    const card = page.getByTestId('stat-connections').locator('.stat-value');
    await expect(card).not.toHaveText('–');
    const before = await statValue(page, 'connections');
    const { socket } = await server.connect('counter-user');
    await expect(card).toHaveText(String(before + 1));
    socket.disconnect();
    await expect(card).toHaveText(String(before));
  });

  test('a connection appears with its user and rooms, and disappears when disconnected from the UI', async ({ page, server, adminToken, signIn, shot }) => {
    const res = await server.request('PUT', '/api/users/bob/subscriptions/news', { token: adminToken });
    expect(res.status).toBe(200);
    await server.connect('alice', { extraHeaders: { 'user-agent': 'ExampleApp/2.1 (Android 14)' } });
    const { socket, ready } = await server.connect('bob', { extraHeaders: { 'user-agent': 'ExampleApp/2.1 (iPhone; iOS 18.1)' } });
    const socketId = ready.socketId;
    await signIn(adminToken, 'Connections');
    await expect(page.getByRole('heading', { level: 1, name: 'Connections' })).toBeVisible();

    const row = page.locator(`tr[data-socket-id="${socketId}"]`);
    await expect(row).toBeVisible();
    await expect(row.getByRole('button', { name: 'user:bob' })).toBeVisible();
    await expect(row.getByRole('button', { name: 'topic:news' })).toBeVisible();
    await expect(row).toContainText('websocket');
    await expect(row).toContainText('iOS 18.1');
    expect(await unlabelledControls(page)).toEqual([]);
    await shot('connections');

    await page.getByLabel('User', { exact: true }).fill('bob');
    await expect(page.locator('tbody tr')).toHaveCount(1);
    await expect(row).toContainText('bob');
    await expect(page).toHaveURL(/#\/connections\?user=bob/);

    const gone = nextEvent(socket, 'disconnect');
    await row.getByRole('button', { name: `Disconnect socket ${socketId} of bob` }).click();
    const dialog = page.getByRole('dialog', { name: 'Are you sure?' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Disconnect socket' }).click();
    await gone;
    await expect(row).toHaveCount(0);
    await expect(page.getByText('No connection matches.')).toBeVisible();
    await expect(page.getByRole('status').getByText(`Disconnected socket ${socketId} of bob.`)).toBeVisible();
  });

  test('rooms and topics are listed largest first and searchable', async ({ page, server, adminToken, signIn, shot }) => {
    const topics: Record<string, string[]> = {
      'sports.football': ['u1', 'u2', 'u3', 'u4'],
      'news.europe': ['u1', 'u2', 'u3'],
      'news.asia': ['u4', 'u5'],
      'release-notes': ['u5'],
    };
    for (const [topic, users] of Object.entries(topics)) {
      for (const user of users) await server.request('PUT', `/api/users/${user}/subscriptions/${topic}`, { token: adminToken });
    }
    for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) await server.connect(user);
    await signIn(adminToken, 'Rooms and topics');
    const names = page.locator('tbody tr .room-name');
    await expect(names.first()).toHaveText('topic:sports.football');
    await expect(names).toHaveText(['topic:sports.football', 'topic:news.europe', 'topic:news.asia', 'topic:release-notes']);
    await shot('rooms');
    expect(await unlabelledControls(page)).toEqual([]);

    await page.getByLabel('Name starts with').fill('news');
    await expect(names).toHaveText(['topic:news.europe', 'topic:news.asia']);
    await page.getByLabel('Show').selectOption('user');
    await page.getByLabel('Name starts with').fill('u');
    await expect(names.first()).toHaveText(/^user:u\d$/);

    // From a room to its connections.
    await page.getByLabel('Name starts with').fill('');
    await page.getByLabel('Show').selectOption('topic');
    await page.getByRole('button', { name: 'Connections in topic:news.asia' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Connections' })).toBeVisible();
    await expect(page.getByLabel('Room')).toHaveValue('topic:news.asia');
    await expect(page.locator('tbody tr')).toHaveCount(2);
  });

  test('a live refresh replaces only the rows that changed, so a row under the pointer stays clickable', async ({ page, server, adminToken, signIn }) => {
    for (const [topic, user] of [['steady', 'r1'], ['growing', 'r2']]) {
      await server.request('PUT', `/api/users/${user}/subscriptions/${topic}`, { token: adminToken });
      await server.connect(user!);
    }
    await signIn(adminToken, 'Rooms and topics');
    const steady = page.locator('tbody tr', { hasText: 'topic:steady' });
    await expect(steady).toBeVisible();
    const status = page.locator('.pager .muted');
    const firstLoad = await status.textContent();
    await steady.evaluate((row: { mark?: string }) => (row.mark = 'kept'));

    // A second subscriber of "growing" changes the counts: the live view pulls the page again.
    await server.request('PUT', '/api/users/r3/subscriptions/growing', { token: adminToken });
    await server.connect('r3');
    await expect(page.locator('tbody tr', { hasText: 'topic:growing' }).locator('.size')).toHaveText('2');
    await expect(status).not.toHaveText(firstLoad!);
    expect(await steady.evaluate((row: { mark?: string }) => row.mark)).toBe('kept');
  });

  test('the overview shows nodes, totals and live charts', async ({ page, server, adminToken, signIn, shot }) => {
    const publisher = server.token('billing', { roles: ['publisher'] });
    const clients = await Promise.all(['c1', 'c2', 'c3'].map((u) => server.connect(u)));
    await signIn(adminToken);
    for (let i = 0; i < 12; i++) {
      await server.request('POST', '/api/notifications', { token: publisher, body: { to: { user: `c${(i % 3) + 1}` }, type: 'invoice.paid', title: `Invoice ${i + 1} paid` } });
      if (i % 4 === 3) await sleep(400);
    }
    clients[0]!.socket.disconnect();
    await expect(page.getByTestId('stat-published').locator('.stat-value')).not.toHaveText('0');
    await expect(page.getByRole('table', { name: 'Nodes' }).getByRole('row')).toHaveCount(2);
    await expect(page.getByRole('table', { name: 'Nodes' })).toContainText(server.config.nodeId);
    await expect(page.getByRole('figure', { name: 'Connections, last 10 minutes' }).locator('canvas')).toBeVisible();
    await expect(page.getByRole('figure', { name: 'Notifications per second, last 10 minutes' }).locator('canvas')).toBeVisible();
    await sleep(1500);
    await shot('overview');
  });
});
