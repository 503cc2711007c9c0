import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { startServer, type TestServer } from '../helpers.js';

export { expect };

/** Where the screenshots of each view are kept (test artifacts, overwritten each run). */
export const SCREENSHOT_DIR = path.resolve('test-results/screenshots');

interface TestFixtures {
  /** Signs in through the start-up link (`/admin/#token=…`) and waits for the page. */
  signIn(token: string, route?: string): Promise<void>;
  /** Saves a full-page screenshot as test-results/screenshots/<name>.png and attaches it. */
  shot(name: string): Promise<void>;
  /** Console errors a test expects (matched by text); anything else fails the test. */
  allowConsole: RegExp[];
}

interface WorkerFixtures {
  /** A real Herald, in this worker's process, on port 0; stats pushed every 250 ms. */
  server: TestServer;
  adminToken: string;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startServer({ ADMIN_STATS_INTERVAL_MS: '250' });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
  adminToken: [async ({ server }, use) => use(server.token('ops', { roles: ['admin'], expiresIn: 3600 })), { scope: 'worker' }],
  allowConsole: [[], { option: true }],
  page: async ({ page, allowConsole }, use) => {
    // A CSP violation, a script error or an alert() is a failure in every test.
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !allowConsole.some((re) => re.test(msg.text()))) problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
      void dialog.dismiss();
    });
    await use(page);
    expect(problems, 'console errors, page errors or dialogs').toEqual([]);
  },
  signIn: async ({ page, server }, use) => {
    await use(async (token, route) => {
      await page.goto(`${server.url}/admin/#token=${token}`);
      await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
      if (route) await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: route }).click();
    });
  },
  shot: async ({ page }, use, testInfo) => {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await use(async (name) => {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      await testInfo.attach(name, { path: file, contentType: 'image/png' });
    });
  },
});

/** The number shown on an overview card. */
export async function statValue(page: Page, id: string): Promise<number> {
  const text = await page.getByTestId(`stat-${id}`).locator('.stat-value').innerText();
  return Number(text.replace(/[^\d]/g, ''));
}

/** The token the page keeps in sessionStorage (evaluated in the page, which has the DOM). */
export function storedToken(page: Page): Promise<string | null> {
  return page.evaluate<string | null>("sessionStorage.getItem('herald.admin.token')");
}

/** Names of the form controls on the page that have neither a `<label>` nor an `aria-label`. */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(
    "[...document.querySelectorAll('input, select, textarea')].filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.name || el.type)",
  );
}
