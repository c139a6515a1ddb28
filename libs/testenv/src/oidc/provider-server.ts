// A real OpenID Connect provider (the npm package oidc-provider) as a
// standalone server for the tests: Dex would be the first choice, but its Go
// module does not build here (the module proxy serves only its 2018 release,
// whose unpinned dependencies no longer compile). Run as
// `node provider-server.js <config.json>`; it prints "ready <issuer>" once it listens.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ProviderConfig } from './provider-config';

// oidc-provider is ESM only; Node 20.19+ requires it from CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Provider = (require('oidc-provider') as { default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider }).default;

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string; details: Record<string, unknown> }; params: Record<string, unknown>; session?: { accountId: string }; grantId?: string }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission: boolean }): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; addOIDCClaims(claims: string[]): void; save(): Promise<string> };
  proxy: boolean;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ProviderConfig;
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({ client_id: c.clientId, client_secret: c.clientSecret, redirect_uris: c.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] })),
  jwks: { keys: [jwk] },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'groups', 'ci'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'], ci: ['repository', 'ref', 'jti'] },
  ttl: { IdToken: (_ctx: unknown, _token: unknown, client: { clientId: string }) => config.clients.find((c) => c.clientId === client.clientId)?.idTokenSeconds ?? 3600 },
  features: { devInteractions: { enabled: false } },
  // Scope claims go into the ID token itself, as CI systems' tokens carry them (GitHub's repository, GitLab's project_path).
  conformIdTokenClaims: false,
  async findAccount(_ctx: unknown, sub: string) {
    const account = config.accounts.find((a) => a.sub === sub);
    if (!account) return undefined;
    // A CI job's token is unique: a jti of its own each time one is minted.
    return { accountId: sub, claims: async () => ({ sub, ...account.claims, jti: randomUUID() }) };
  },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
});

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The provider's sign-in page: a plain form, as a company's identity provider would show. */
function loginPage(uid: string, problem = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head><body><main>
<h1>Sign in to the test identity provider</h1>${problem ? `<p role="alert">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Continue</button></form></main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', issuer);
  const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
  if (!interaction) return callback(req, res);
  void (async () => {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'consent') {
      // First-party clients: everything asked for is granted.
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      grant.addOIDCClaims(['email', 'email_verified', 'groups', 'repository', 'ref', 'jti']);
      return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    }
    if (req.method === 'POST' && interaction[2]) {
      const form = await readForm(req);
      const account = config.accounts.find((a) => a.username === form.get('username') && a.password === form.get('password'));
      if (!account) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        return res.end(loginPage(details.uid, 'Unknown username or password'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
  })().catch((err: unknown) => {
    res.writeHead(400, { 'Content-Type': 'text/plain' });
    res.end(`interaction failed: ${String(err)}`);
  });
});
server.listen(config.port, '127.0.0.1', () => process.stdout.write(`ready ${issuer}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
