import { expect, test } from './fixtures.js';

/** The AsyncAPI page's title (the sidebar holds a hidden copy); the 3 MB viewer may take a few seconds to render. */
const asyncApiTitle = (page: import('@playwright/test').Page) => page.getByText('Herald socket events').filter({ visible: true }).first();
const RENDER_MS = 15_000;

test.describe('the API documents', () => {
  test('renders the socket events from /api/asyncapi.json, linked from and to the REST page', async ({ page, server, shot }) => {
    await page.goto(`${server.url}/api/docs`);
    await expect(page.getByText('/api/notifications/batch').first()).toBeVisible();
    // Swagger UI opens the links of a description in a new tab.
    const opened = page.waitForEvent('popup');
    await page.getByRole('link', { name: '/api/docs/asyncapi' }).filter({ visible: true }).first().click();
    const events = await opened;
    await expect(events).toHaveURL(`${server.url}/api/docs/asyncapi`);
    await expect(asyncApiTitle(events)).toBeVisible({ timeout: RENDER_MS });
    // Operations of both namespaces, rendered from the document the server built: the user's ready,
    // a client request with its acknowledgement, and the admin namespace's stats push.
    for (const operation of ['userReady', 'userSubscribe', 'adminStats']) await expect(events.getByText(operation, { exact: true }).first()).toBeAttached();
    await expect(events.getByText(`ws://${new URL(server.url).host}/socket.io/`)).toBeVisible();
    await events.screenshot({ path: 'test-results/screenshots/asyncapi.png' });
    await shot('openapi');
    await events.getByRole('link', { name: '/api/docs', exact: true }).click();
    await expect(events).toHaveURL(`${server.url}/api/docs/`);
    await expect(events.getByText('/api/notifications/batch').first()).toBeVisible();
    await events.close();
  });

  test('renders the socket events at /api/docs/asyncapi/ too', async ({ page, server }) => {
    await page.goto(`${server.url}/api/docs/asyncapi/`);
    await expect(asyncApiTitle(page)).toBeVisible({ timeout: RENDER_MS });
    await expect(page.getByText('userReady', { exact: true }).first()).toBeAttached();
  });
});
