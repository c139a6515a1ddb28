// The audit log end to end (docs/audit.md): a scripted session through every
// door (registryctl, the JSON API, docker push, the token endpoint) across
// every kind of change (metadata's, auth's, webhooks') gives exactly one entry
// per change and never a secret (garbage collection's own deletions aside: its
// grace periods); who may read what; pages and the JSON-lines
// export agree; verify finds a row edited in PostgreSQL; the web UI page.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { createDatabase } from '@ocireg/testenv';
import { accessibilityViolations, launchChromium } from './browser';
import { importRandomImage } from './images';
import { OciHttp } from './oci-http';
import { recordSecret, run, startTestRegistry, tempDir, uniqueName } from './helpers';
import { WebClient } from './web-client';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const VERIFY_CLI = path.join(REPO_ROOT, 'services', 'metadata', 'dist', 'audit-verify-cli.js');

interface Entry {
  id: string;
  chain: string;
  seq: number | string;
  action: string;
  outcome: string;
  channel: string;
  workspace?: string;
  workspaceSlug?: string;
  targetName: string;
  actor: { userId?: string; email?: string; tokenId?: string; service?: string };
}

/** Runs a command, its exit code and output whatever it is (verify exits 1 on purpose). */
async function exitOf(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the audit log', () => {
  let registry: RunningRegistry;
  let databaseUrl: string;
  const secrets: string[] = [];
  const keep = (secret: string) => {
    secrets.push(secret);
    recordSecret(secret);
    return secret;
  };
  const ctlAs = (token: string) => async (...args: string[]) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', token, ...args])) as Record<string, any>;
  let ctl: ReturnType<typeof ctlAs>;
  const ws = uniqueName('audit');
  const email = `alice@${ws}.example.com`;
  let alice: { id: string; token: string; password: string };
  let session: WebClient;

  beforeAll(async () => {
    // A database of its own: verify reads every chain, and this file edits a row behind the triggers.
    databaseUrl = await createDatabase(process.env.DATABASE_URL!, 'audit_e2e');
    // Webhook targets: one allowed address with nothing behind it (deliveries fail; the changes are what matter here).
    registry = await startTestRegistry({ DATABASE_URL: databaseUrl, WEBHOOK_ALLOWED_CIDRS: '127.0.0.2/32' });
    keep(registry.operator.token);
    ctl = ctlAs(registry.operator.token);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const exportAll = async (...filters: string[]) => {
    const file = path.join(tempDir('audit-export'), 'audit.jsonl');
    await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, 'audit', 'export', ...filters, '--output', file]);
    const text = readFileSync(file, 'utf8');
    return { text, entries: text.trim() ? text.trim().split('\n').map((line) => JSON.parse(line) as Entry) : [] };
  };

  it('records one entry per change of a session through every door, and no secret', async () => {
    const before = (await exportAll()).entries.length;

    // registryctl (the admin API), as an operator.
    const { user } = await ctl('user', 'create', email);
    await ctl('workspace', 'create', ws, '--organization', 'acme-inc');
    await ctl('workspace', 'settings', ws, '--plan', 'team');
    await ctl('workspace', 'settings', ws, '--plan', 'team'); // as it is: nothing
    await ctl('project', 'create', ws, 'platform');
    await ctl('project', 'rename', ws, 'platform', 'Platform team');
    const { sourceRepository: repo } = await ctl('repository', 'create', ws, 'platform', 'api');
    await ctl('repository', 'rename', repo.id, 'API');
    const { sourceRepository: web } = await ctl('repository', 'create', ws, 'platform', 'web');
    await ctl('member', 'set', repo.id, email, 'write');
    await ctl('member', 'set', repo.id, email, 'write'); // the same role: nothing
    await ctl('workspace', 'add-admin', ws, email);
    await ctl('package', 'create', ws, 'app', '--repository', repo.id);
    await ctl('package', 'create', ws, 'extra', '--repository', repo.id);
    await ctl('package', 'link', ws, 'extra', '--repository', web.id);
    const created = await ctl('token', 'create', email, '--name', 'laptop', '--scopes', 'read:package,write:package,admin:package', '--expires-in-days', '7');
    alice = { id: user.id, token: keep(created.secret), password: keep(`pw-${randomBytes(12).toString('base64url')}`) };

    // The registry (/v2): docker login and two pushes, the second moving the tag.
    await run('docker', ['login', registry.registryHost, '--username', email, '--password-stdin'], { input: alice.token });
    const reference = `${registry.registryHost}/${ws}/app:1.0`;
    await importRandomImage(reference, 8 * 1024);
    await run('docker', ['push', reference]);
    await importRandomImage(reference, 8 * 1024);
    await run('docker', ['push', reference]);
    await run('docker', ['push', reference]); // the same push again: nothing
    const stable = `${registry.registryHost}/${ws}/app:stable`;
    await run('docker', ['tag', reference, stable]);
    await run('docker', ['push', stable]); // the same manifest under another tag
    // A refused API-token login at the token endpoint.
    const refused = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=repository:${ws}/app:pull`, { headers: { Authorization: `Basic ${Buffer.from(`${email}:ocireg_0000000000000000_${'A'.repeat(43)}`).toString('base64')}` } });
    expect(refused.status).toBe(401);
    // A blob pushed and deleted by digest (/v2): its deletion is a change; its upload is not.
    const oci = new OciHttp(registry.gatewayUrl, `Basic ${Buffer.from(`${email}:${alice.token}`).toString('base64')}`);
    const blob = await oci.pushBlob(`${ws}/app`, randomBytes(512), 'application/octet-stream');
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws}/app/blobs/${blob.digest}`, { method: 'DELETE', headers: { Authorization: `Basic ${Buffer.from(`${email}:${alice.token}`).toString('base64')}` } })).status).toBe(202);

    // The JSON API: a password through a reset link, a refused and an accepted sign-in, a token made and revoked, sign-out.
    const reset = await ctl('user', 'reset-password', email);
    const linkSecret = keep(String(reset.url).split('#')[1]!);
    session = new WebClient(registry.gatewayUrl);
    expect((await session.request('POST', '/api/v1/password-links/redeem', { secret: linkSecret, password: alice.password })).status).toBe(200);
    expect((await session.signIn(email, 'not the password')).status).toBe(401);
    expect((await session.signIn(email, alice.password)).status).toBe(201);
    const madeToken = await session.request<{ token: { id: string }; secret: string }>('POST', '/api/v1/tokens', { name: 'ci', scopes: ['read:package'], expiresInDays: 1 });
    expect(madeToken.status).toBe(201);
    keep(madeToken.body.secret);
    expect((await session.request('DELETE', `/api/v1/tokens/${madeToken.body.token.id}`)).status).toBeLessThan(300);
    expect((await session.request('DELETE', `/api/v1/workspaces/${ws}/images/app/-/tags/1.0`)).status).toBeLessThan(300);
    const second = new WebClient(registry.gatewayUrl);
    expect((await second.signIn(email, alice.password)).status).toBe(201);
    expect((await second.request('DELETE', '/api/v1/session')).status).toBeLessThan(300);
    const invited = await ctl('user', 'invite', `bob@${ws}.example.com`);
    keep(String(invited.url).split('#')[1]!);

    // Webhooks (the webhooks service's chain).
    const hook = await ctl('webhook', 'create', ws, 'http://127.0.0.2:9/hook', '--events', 'package.deleted');
    keep(hook.secret);
    keep((await ctl('webhook', 'rotate-secret', hook.webhook.id)).secret);
    await ctl('webhook', 'update', hook.webhook.id, '--disable');
    await ctl('webhook', 'update', hook.webhook.id, '--disable'); // as it is: nothing
    await ctl('webhook', 'delete', hook.webhook.id);

    // Back to registryctl: grants, removals, deletions.
    await ctl('package', 'grant', ws, 'extra', email, 'read');
    await ctl('package', 'grant', ws, 'extra', email, 'none');
    await ctl('image', 'delete', ws, 'app');
    await ctl('package', 'delete', ws, 'extra');
    await ctl('member', 'remove', repo.id, email);
    await ctl('token', 'revoke', created.token.id);
    await ctl('repository', 'delete', web.id);
    // A workspace from start to end.
    await ctl('workspace', 'create', `${ws}-gone`);
    await ctl('project', 'create', `${ws}-gone`, 'tmp');
    await ctl('project', 'delete', `${ws}-gone`, 'tmp');
    await ctl('workspace', 'delete', `${ws}-gone`);

    const { text, entries } = await exportAll();
    const session_ = entries.slice(0, entries.length - before).reverse(); // oldest first
    const ok = (action: string) => [action, 'success'];
    expect(session_.map((e) => [e.action, e.outcome])).toEqual([
      ok('user.created'),
      ok('workspace.created'),
      ok('workspace.settings-changed'),
      ok('project.created'),
      ok('project.renamed'),
      ok('source-repository.created'),
      ok('source-repository.renamed'),
      ok('source-repository.created'),
      ok('member.role-set'),
      ok('workspace.admin-added'),
      ok('package.created'),
      ok('package.created'),
      ok('package.linked'),
      ok('token.created'),
      ok('manifest.pushed'),
      ok('manifest.pushed'),
      ok('tag.updated'),
      ['token.login', 'failure'],
      ok('blob.deleted'),
      ok('password-reset.created'),
      ok('password.set'),
      ['session.sign-in', 'failure'],
      ok('session.sign-in'),
      ok('token.created'),
      ok('token.revoked'),
      ok('tag.deleted'),
      ok('session.sign-in'),
      ok('session.sign-out'),
      ok('user.created'),
      ok('invitation.created'),
      ok('webhook.created'),
      ok('webhook.secret-rotated'),
      ok('webhook.updated'),
      ok('webhook.deleted'),
      ok('package.grant-set'),
      ok('package.grant-set'),
      ok('image.deleted'),
      ok('package.deleted'),
      ok('member.removed'),
      ok('token.revoked'),
      ok('source-repository.deleted'),
      ok('workspace.created'),
      ok('project.created'),
      ok('project.deleted'),
      ok('workspace.deleted'),
    ]);
    // Where each came from, and who.
    const pushed = session_.filter((e) => e.action === 'manifest.pushed');
    expect(pushed.map((e) => [e.channel, e.actor.userId, e.actor.tokenId])).toEqual([
      ['registry', alice.id, created.token.id],
      ['registry', alice.id, created.token.id],
    ]);
    expect(session_.find((e) => e.action === 'tag.deleted')).toMatchObject({ channel: 'json-api', targetName: `${ws}/app:1.0`, actor: { userId: alice.id } });
    expect(session_.find((e) => e.action === 'workspace.created')).toMatchObject({ channel: 'admin-api' });
    // No secret anywhere in the log.
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/ocireg_[0-9a-f]{16}_/);
  });

  it('lets operators read everything and workspace admins their workspace only, a page at a time', async () => {
    // Her first token was revoked above: another.
    const asAlice = ctlAs(keep((await ctl('token', 'create', email, '--name', 'audit', '--scopes', 'read:package', '--expires-in-days', '1')).secret));
    // Alice is an admin of the workspace (add-admin above) though no longer a member of its repository.
    const own = await asAlice('audit', 'list', '--workspace', ws, '--limit', '4');
    expect(own.entries).toHaveLength(4);
    expect(own.entries.every((e: Entry) => (e.workspaceSlug ?? e.workspace) === ws)).toBe(true);
    await expect(asAlice('audit', 'list')).rejects.toThrow(/DENIED: only operators read the whole audit log/);
    await ctl('workspace', 'create', `${ws}x`);
    await expect(asAlice('audit', 'list', '--workspace', `${ws}x`)).rejects.toThrow(/DENIED/);
    await expect(asAlice('audit', 'verify')).rejects.toThrow(/DENIED/);

    // Pages walk the same entries as the export, newest first.
    const all = (await exportAll('--workspace', ws)).entries.map((e) => e.id);
    const walked: string[] = [];
    let token = '';
    do {
      const page = await ctl('audit', 'list', '--workspace', ws, '--limit', '5', '--page-token', token);
      walked.push(...page.entries.map((e: Entry) => e.id));
      token = page.nextPageToken;
    } while (token);
    expect(walked).toEqual(all);
    expect(all.length).toBeGreaterThan(10);

    // Filters: an action prefix, a user by email, an outcome.
    const tokens = await ctl('audit', 'list', '--action', 'token.*', '--actor', email);
    expect(tokens.entries.map((e: Entry) => e.action).sort()).toEqual(['token.created', 'token.revoked']);
    const refused = await ctl('audit', 'list', '--outcome', 'failure');
    expect(refused.entries.map((e: Entry) => e.action)).toEqual(['session.sign-in', 'token.login']);

    // The JSON API: the same rules for a signed-in workspace admin, and the export as JSON lines.
    const page = await session.get<{ entries: Entry[]; nextPageToken: string }>(`/api/v1/audit?workspace=${ws}&page_size=3`);
    expect(page.status).toBe(200);
    expect(page.body.entries.map((e) => e.id)).toEqual(all.slice(0, 3));
    expect(page.body.nextPageToken).not.toBe('');
    expect((await session.get('/api/v1/audit')).status).toBe(403);
    expect((await session.get(`/api/v1/audit?workspace=${ws}x`)).status).toBe(403);
    expect((await session.get('/api/v1/audit?outcome=maybe')).status).toBe(400);
    const exported = await fetch(`${registry.gatewayUrl}/api/v1/audit/export?workspace=${ws}`, { headers: { Cookie: session.cookie } });
    expect(exported.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as Entry);
    expect(lines.map((e) => e.id)).toEqual(all);
    expect((await new WebClient(registry.gatewayUrl).get('/api/v1/audit')).status).toBe(401);
  });

  it('shows the log on the web UI page of the workspace', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${registry.gatewayUrl}/w/${ws}/audit`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(alice.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: `Audit log of ${ws}` }).waitFor();
      await page.getByRole('cell', { name: 'tag.deleted' }).waitFor();
      await page.getByLabel('Action').fill('package.*');
      await page.getByRole('button', { name: 'Show' }).click();
      // The filtered page: package entries only.
      await page.getByRole('cell', { name: 'tag.deleted' }).waitFor({ state: 'detached' });
      const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents();
      expect(actions.length).toBeGreaterThanOrEqual(3);
      expect(actions.every((action) => action.startsWith('package.'))).toBe(true);
      expect(await accessibilityViolations(page)).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('verify reports a row edited directly in PostgreSQL, by registryctl and straight from the database', async () => {
    expect((await ctl('audit', 'verify')).ok).toBe(true);
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ chain: string; seq: string; target_name: string }>("SELECT chain, seq, target_name FROM audit_log WHERE workspace = $1 AND action = 'tag.deleted'", [ws]);
      const row = rows[0]!;
      const edit = async (name: string) => {
        await admin.query("SET session_replication_role = 'replica'");
        await admin.query('UPDATE audit_log SET target_name = $1 WHERE chain = $2 AND seq = $3', [name, row.chain, row.seq]);
        await admin.query("SET session_replication_role = 'origin'");
      };
      await edit(`${ws}/app:covered-up`);
      const byCtl = await exitOf(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, 'audit', 'verify']);
      expect(byCtl.code).toBe(1);
      expect(JSON.parse(byCtl.stdout)).toMatchObject({ ok: false, problems: [expect.objectContaining({ chain: row.chain, seq: Number(row.seq), problem: expect.stringContaining('changed after it was written') })] });
      expect(byCtl.stderr).toContain(`${row.chain} row ${row.seq}`);
      const direct = await exitOf(process.execPath, [VERIFY_CLI], { DATABASE_URL: databaseUrl });
      expect(direct.code).toBe(1);
      expect(JSON.parse(direct.stdout)).toMatchObject({ ok: false, problemsTotal: 1 });
      // Put back as it was: the chain verifies again.
      await edit(row.target_name);
      expect((await ctl('audit', 'verify')).ok).toBe(true);
      expect((await exitOf(process.execPath, [VERIFY_CLI], { DATABASE_URL: databaseUrl })).code).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
