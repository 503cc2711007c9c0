import { expect, storedToken, test, unlabelledControls } from './fixtures.js';

test.describe('sign-in', () => {
  test('signs in from the start-up link and clears the token from the address bar', async ({ page, server, adminToken, signIn }) => {
    await signIn(adminToken);
    expect(page.url()).toBe(`${server.url}/admin/#/overview`);
    expect(page.url()).not.toContain(adminToken);
    expect(await storedToken(page)).toBe(adminToken);
    await expect(page.getByText('Signed in as')).toContainText('ops');
    await expect(page.getByText(/^Live · node /)).toBeVisible();
    // Still signed in after a reload, from sessionStorage; no cookie was set.
    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    expect(await page.context().cookies()).toEqual([]);
    // No history entry holds the token either.
    await page.goBack();
    expect(page.url()).not.toContain('token');
  });

  test('signs in with a pasted token, and signing out forgets it', async ({ page, server, adminToken, shot }) => {
    await page.goto(`${server.url}/admin/`);
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
    await shot('sign-in');
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    expect(page.url()).not.toContain(adminToken);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
    expect(await storedToken(page)).toBeNull();
  });

  test('explains an expired token and a token without an admin role', async ({ page, server, shot }) => {
    const expired = server.token('ops', { roles: ['admin'], expiresIn: -60 });
    await page.goto(`${server.url}/admin/#token=${expired}`);
    await expect(page.getByRole('alert')).toContainText('This token has expired');
    expect(page.url()).not.toContain(expired);
    expect(await storedToken(page)).toBeNull();

    await page.getByLabel('Admin token').fill(server.token('alice', { roles: ['publisher'] }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText('neither the admin nor the admin:read role');
    await shot('sign-in-refused');

    await page.getByLabel('Admin token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText('The server does not accept this token');
  });

  test('signs out with a clear message when the token runs out during the session', async ({ page, server, signIn }) => {
    await signIn(server.token('ops', { roles: ['admin:read'], expiresIn: 2 }));
    await expect(page.getByRole('alert')).toContainText('This token has expired', { timeout: 5000 });
    await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
    expect(await storedToken(page)).toBeNull();
  });

  test('serves /admin/ under a strict Content-Security-Policy and redirects /admin there', async ({ request, server }) => {
    const redirect = await request.get(`${server.url}/admin`, { maxRedirects: 0 });
    expect(redirect.status()).toBe(301);
    expect(redirect.headers().location).toBe('/admin/');

    const page = await request.get(`${server.url}/admin/`);
    expect(page.status()).toBe(200);
    const csp = page.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const html = await page.text();
    // Every script is a file, and nothing is styled inline.
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => / src=/.test(tag))).toBe(true);
    expect(html).not.toMatch(/<style\b| style=/);
    expect(page.headers()['set-cookie']).toBeUndefined();
  });
});
