import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import type { Browser, Page } from 'playwright-core';
import { accessibilityViolations, launchChromium, screenshot, signIn as signInPage } from './browser';
import { basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { webUser, type WebUser } from './web-client';

/** A package's retention page in Chromium: a repository Admin adds a rule, previews (why kept), and applies behind a confirmation. */
describe('web UI: retention of a package', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let browser: Browser;
  let repositoryAdmin: WebUser;
  let oci: OciHttp;

  beforeAll(async () => {
    // The online loop off: what the page previews stays until it applies.
    registry = await startTestRegistry({ RETENTION_ENABLED: 'false' });
    workspace = await newWorkspace(registry, 'uiret');
    repositoryAdmin = await webUser(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' });
    oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    for (const tag of ['old1', 'old2', 'old3', 'newest']) await oci.pushImage(`${workspace.slug}/app`, tag);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await registry?.stop();
  });

  const signIn = (user: WebUser): Promise<Page> => signInPage(browser, registry.gatewayUrl, user);

  it('adds a rule, previews what goes and which rule keeps the rest, and applies it once confirmed', async () => {
    const page = await signIn(repositoryAdmin);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}/retention/app`);
    await page.getByRole('heading', { name: 'Retention of app' }).waitFor();
    await page.getByText('No retention rule reaches this package').waitFor();

    // A malformed pattern is refused with the server's message.
    await page.getByLabel('Kind').selectOption('keep-latest');
    await page.getByLabel(/^Tag pattern/).fill('v[0-9]');
    await page.getByLabel('How many to keep').fill('1');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/pattern: may hold only/);

    await page.getByLabel(/^Tag pattern/).fill('*');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('table', { name: 'Effective rules' }).getByText('keep the 1 most recently pushed tags matching *').waitFor();

    await page.getByRole('button', { name: 'Preview retention' }).click();
    const tags = page.getByRole('table', { name: 'Tags' });
    await tags.waitFor();
    await expect(page.getByRole('status').first().textContent()).resolves.toMatch(/Would delete 3 of 4 tags and 3 manifests.*needs a confirmation/);
    await expect(tags.getByRole('row', { name: /newest/ }).textContent()).resolves.toMatch(/kept.*kept by .*keep the 1 most recently pushed tags matching \*/);
    for (const tag of ['old1', 'old2', 'old3']) await expect(tags.getByRole('row', { name: new RegExp(tag) }).textContent()).resolves.toMatch(/deleted.*no rule keeps it/);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'retention-preview');

    // Nothing is deleted by the preview.
    const listed = async () => ((await (await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/tags/list`, { headers: { Authorization: basicAuth(workspace.admin) } })).json()) as { tags: string[] }).tags.sort();
    expect(await listed()).toEqual(['newest', 'old1', 'old2', 'old3']);

    await page.getByRole('button', { name: 'Apply retention' }).click();
    await page.getByRole('dialog').getByText(/deletes 3 of 4 tags/).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Delete 3 tags and 3 manifests' }).click();
    await page.getByText('Deleted 3 tags and 3 manifests.').waitFor();
    expect(await listed()).toEqual(['newest']);
  });
  it('sets a rule on a level above the package, and refuses a level the user does not administer', async () => {
    const page = await signIn(repositoryAdmin);
    await page.goto(`${registry.gatewayUrl}/w/${workspace.slug}/retention/app`);
    await page.getByRole('heading', { name: 'Retention of app' }).waitFor();
    await page.getByLabel('Set on').selectOption('source-repository');
    await page.getByLabel('Kind').selectOption('protect');
    await page.getByLabel(/^Tag pattern/).fill('release-*');
    await page.getByRole('button', { name: 'Add rule' }).click();
    const row = page.getByRole('table', { name: 'Effective rules' }).getByRole('row', { name: /always keep tags matching release-\*/ });
    await expect(row.textContent()).resolves.toMatch(/source-repository/);
    // A repository Admin is no workspace admin: the workspace level is refused, with the server's reason.
    await page.getByLabel('Set on').selectOption('workspace');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/only .*admins/i);
    expect(await accessibilityViolations(page)).toEqual([]);
  });
});
