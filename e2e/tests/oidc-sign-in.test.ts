import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushableWorkspace, type RunningRegistry } from '@ocireg/devstack';
import { freePort, startOidcProvider, type StartedOidcProvider } from '@ocireg/testenv';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot } from './browser';
import { recordSecret, startTestRegistry, uniqueName } from './helpers';
import { WebClient, webUser, type WebUser } from './web-client';

const PROVIDER = 'test-idp';
const CLIENT = { clientId: 'ocireg-ui', clientSecret: `ui-client-secret-${Date.now().toString(36)}` };

/** The operators' configuration of the provider (OIDC_PROVIDERS), its groups giving workspace admin of `workspace`. */
const providersEnv = (issuer: string, workspace: string) =>
  JSON.stringify([{ name: PROVIDER, displayName: 'Test IdP', issuer, ...CLIENT, scopes: ['openid', 'email', 'groups'], groupsClaim: 'groups', groupRoles: [{ group: 'registry-admins', workspace }] }]);

/** Signs in at the provider's own page (the browser was sent there by "Sign in with Test IdP"). */
async function signInAtProvider(page: Page, account: { username: string; password: string }): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in to the test identity provider' }).waitFor();
  await page.getByLabel('Username').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** After "Sign in with Test IdP": the provider asks again, or (remembering the person) sends the browser straight back. */
async function signInOrBack(page: Page, account: { username: string; password: string }): Promise<void> {
  const providerPage = page.getByRole('heading', { name: 'Sign in to the test identity provider' });
  await page.getByRole('button', { name: 'Sign out' }).or(providerPage).first().waitFor();
  if (await providerPage.isVisible()) await signInAtProvider(page, account);
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/**
 * Single sign-on for the web UI (docs/security.md, "Single sign-on"), in
 * Chromium against a real OpenID Connect provider (oidc-provider, standalone):
 * the authorization code flow with PKCE, users created just in time or
 * matched by verified email, a group giving workspace admin, sessions that
 * name their provider, sign-out; refused for an unverified email or a state
 * that is not the browser's; password sign-in turned off by an operator.
 */
describe('single sign-on in Chromium', () => {
  let provider: StartedOidcProvider;
  let registry: RunningRegistry;
  let browser: Browser;
  let db: pg.Pool;
  let existing: WebUser;
  const workspace = uniqueName('sso');
  const alice = { username: 'alice', password: 'alice-idp-password', email: `alice@${workspace}.example.com` };
  const mallory = { username: 'mallory', password: 'mallory-idp-password', email: `mallory@${workspace}.example.com` };
  const bob = { username: 'bob', password: 'bob-idp-password', email: `bob@${workspace}.example.com` };

  beforeAll(async () => {
    // The client secret is in auth's environment (OIDC_PROVIDERS): it must never reach a log.
    recordSecret(CLIENT.clientSecret);
    const gatewayPort = await freePort();
    provider = await startOidcProvider({
      clients: [{ ...CLIENT, redirectUris: [`http://127.0.0.1:${gatewayPort}/api/v1/oidc/${PROVIDER}/callback`] }],
      accounts: [
        { sub: 'alice-at-idp', username: alice.username, password: alice.password, claims: { email: alice.email, email_verified: true, name: 'Alice', groups: ['registry-admins', 'staff'] } },
        { sub: 'mallory-at-idp', username: mallory.username, password: mallory.password, claims: { email: mallory.email, email_verified: false, groups: ['registry-admins'] } },
        { sub: 'bob-at-idp', username: bob.username, password: bob.password, claims: { email: bob.email, email_verified: true, groups: [] } },
      ],
    });
    registry = await startTestRegistry({ OIDC_PROVIDERS: providersEnv(provider.issuer, workspace) }, { gatewayPort });
    await createPushableWorkspace(registry.adminAddress, workspace, registry.operator.authorization);
    // Bob already has a password account: single sign-on finds him by his verified email.
    existing = await webUser(registry, { email: bob.email });
    db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await registry?.stop();
    await provider?.stop();
  });

  const url = (path: string) => `${registry.gatewayUrl}${path}`;
  const sessionOf = async (page: Page) => {
    const response = await page.request.get(url('/api/v1/session'));
    return { status: response.status(), body: (await response.json()) as { user?: { id: string; email: string } } };
  };

  it('signs a new person in through the provider, just in time, with the workspace admin role their group gives, and signs them out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url(`/w/${workspace}`));
    const button = page.getByRole('link', { name: 'Sign in with Test IdP' });
    await button.waitFor();
    // The password form is there too (password sign-in stays unless an operator turns it off).
    await expect(page.getByLabel('Password', { exact: true }).count()).resolves.toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in-with-provider');
    await button.click();
    // PKCE: the provider was asked with an S256 challenge (the provider itself requires it, too).
    expect(new URL(page.url()).origin).toBe(provider.issuer);
    await signInAtProvider(page, alice);
    // Back on the page they started from, signed in.
    await page.getByRole('heading', { name: `Packages in ${workspace}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/w/${workspace}`);
    await page.getByText(alice.email).first().waitFor();
    const session = await sessionOf(page);
    expect(session.status).toBe(200);
    expect(session.body.user!.email).toBe(alice.email);
    const aliceId = session.body.user!.id;
    // Created just in time; the session row names its provider.
    const { rows } = await db.query<{ provider: string }>('SELECT provider FROM auth_sessions WHERE user_id = $1 AND ended_at IS NULL', [aliceId]);
    expect(rows.map((r) => r.provider)).toEqual([PROVIDER]);
    // Her group gives workspace admin: the admins-only service accounts list answers her.
    const accounts = await page.request.get(url(`/api/v1/workspaces/${workspace}/service-accounts`));
    expect(accounts.status()).toBe(200);
    // The sign-in is a credential event, with the claims' subject and what the groups gave.
    const events = readFileSync(registry.logFile('auth'), 'utf8').split('\n').filter((line) => line.includes('"kind":"sign-in"') && line.includes(aliceId));
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!).credentialEvent).toMatchObject({ provider: PROVIDER, subject: 'alice-at-idp', createdUser: true, grantsApplied: 1, groups: ['registry-admins', 'staff'] });
    await screenshot(page, 'signed-in-with-provider');

    // Sign-out ends the session at once.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
    expect((await sessionOf(page)).status).toBe(401);
    const ended = await db.query<{ ended: boolean }>('SELECT ended_at IS NOT NULL AS ended FROM auth_sessions WHERE user_id = $1', [aliceId]);
    expect(ended.rows.map((r) => r.ended)).toEqual([true]);

    // Signing in again (the provider remembers her) reaches the same user, not a new one.
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await signInOrBack(page, alice);
    expect((await sessionOf(page)).body.user!.id).toBe(aliceId);
    await context.close();
  });

  it('matches an existing user by verified email; in no mapped group, they administer nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url('/'));
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await signInAtProvider(page, bob);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const session = await sessionOf(page);
    expect(session.body.user!.id).toBe(existing.userId);
    // Bob is in no mapped group: he administers nothing (the workspace answers as if it did not exist, or denies).
    expect([403, 404]).toContain((await page.request.get(url(`/api/v1/workspaces/${workspace}/service-accounts`))).status());
    // His password still works: both ways reach one account.
    const web = new WebClient(registry.gatewayUrl);
    expect((await web.signIn(existing.email, existing.password)).body.user.id).toBe(existing.userId);
    await context.close();
  });

  it('refuses a sign-in when the provider says the email is not verified, and creates nobody', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url('/'));
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await signInAtProvider(page, mallory);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain(`${mallory.email} is not verified`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect((await sessionOf(page)).status).toBe(401);
    const { rows } = await db.query('SELECT 1 FROM auth_users WHERE email = $1', [mallory.email]);
    expect(rows).toHaveLength(0);
    expect(readFileSync(registry.logFile('auth'), 'utf8')).toMatch(/"kind":"sign-in\.refused"[^\n]*is not verified/);
    await screenshot(page, 'sign-in-refused-unverified');
    expect(await accessibilityViolations(page)).toEqual([]);
    await context.close();
  });

  it('refuses an answer whose state is not the browser\'s, one without the state cookie, and a replayed answer', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A forged answer with no sign-in begun (no state cookie): login CSRF.
    await page.goto(url(`/api/v1/oidc/${PROVIDER}/callback?code=forged&state=forged`));
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not for this browser');
    expect((await sessionOf(page)).status).toBe(401);
    // The refusal is told once; a link cannot put words on the sign-in page.
    await page.goto(url('/sign-in?error=Your+account+is+locked.+Call+us+on+555-0100'));
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.textContent('body')).not.toContain('555-0100');

    // A sign-in begun (the cookie holds its state), answered with another state.
    const start = await page.request.get(url(`/api/v1/oidc/${PROVIDER}/start`), { maxRedirects: 0 });
    expect(start.status()).toBe(303);
    const authorization = new URL(start.headers().location!);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.goto(url(`/api/v1/oidc/${PROVIDER}/callback?code=forged&state=${'x'.repeat(43)}`));
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not for this browser');

    // A real answer used once: the same callback again is refused.
    await page.goto(url('/'));
    let callback = '';
    page.on('request', (request) => {
      if (request.url().includes(`/api/v1/oidc/${PROVIDER}/callback`)) callback = request.url();
    });
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await signInOrBack(page, alice);
    expect(callback).toContain('code=');
    const answer = new URL(callback).searchParams;
    recordSecret(answer.get('code')!);
    recordSecret(answer.get('state')!);
    // Even with the state cookie put back, auth takes an answer once.
    const other = await browser.newContext();
    await other.addCookies([{ name: 'ocireg_oidc_state', value: answer.get('state')!, url: registry.gatewayUrl }]);
    const replay = await other.newPage();
    await replay.goto(callback);
    await replay.getByRole('alert').waitFor();
    expect(await replay.getByRole('alert').textContent()).toContain('unknown, used or expired');
    expect((await sessionOf(replay)).status).toBe(401);
    await other.close();
    await context.close();
  });
});

describe('password sign-in turned off by an operator', () => {
  let provider: StartedOidcProvider;
  let registry: RunningRegistry;
  let browser: Browser;

  beforeAll(async () => {
    const gatewayPort = await freePort();
    provider = await startOidcProvider({ clients: [{ ...CLIENT, redirectUris: [`http://127.0.0.1:${gatewayPort}/api/v1/oidc/${PROVIDER}/callback`] }], accounts: [] });
    registry = await startTestRegistry({ OIDC_PROVIDERS: providersEnv(provider.issuer, uniqueName('nopw')), PASSWORD_SIGN_IN: 'false' }, { gatewayPort });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
    await provider?.stop();
  });

  it('offers only the provider, and refuses a correct password', async () => {
    const user = await webUser(registry);
    const web = new WebClient(registry.gatewayUrl);
    const refused = await web.signIn(user.email, user.password);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('password sign-in is turned off');
    expect((await web.get<{ password: boolean; providers: Array<{ name: string }> }>('/api/v1/sign-in-methods')).body).toMatchObject({ password: false, providers: [{ name: PROVIDER }] });

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${registry.gatewayUrl}/`);
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
    expect(await page.getByLabel('Password', { exact: true }).count()).toBe(0);
    await screenshot(page, 'sign-in-provider-only');
  });
});
