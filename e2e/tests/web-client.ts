import { randomBytes } from 'node:crypto';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { adminPortClient, recordSecret, uniqueName } from './helpers';

export interface WebResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A browser's side of the JSON API without a browser: one cookie jar, the
 * session's CSRF token, and our Origin on every change (as a browser sends it).
 */
export class WebClient {
  cookie = '';
  csrfToken = '';

  constructor(
    readonly baseUrl: string,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<WebResponse<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Origin: new URL(this.baseUrl).origin,
        ...(this.cookie ? { Cookie: this.cookie } : {}),
        ...(this.csrfToken && method !== 'GET' ? { 'X-CSRF-Token': this.csrfToken } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...this.extraHeaders,
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      const [pair] = setCookie.split(';');
      this.cookie = pair!.endsWith('=') ? '' : pair!;
      if (this.cookie) recordSecret(this.cookie.slice(this.cookie.indexOf('=') + 1));
    }
    const text = await response.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = Record<string, unknown>>(path: string) {
    return this.request<T>('GET', path);
  }

  async signIn(email: string, password: string): Promise<WebResponse<{ csrfToken: string; user: { id: string; email: string } }>> {
    const response = await this.request<{ csrfToken: string; user: { id: string; email: string } }>('POST', '/api/v1/session', { email, password });
    if (response.status === 201) this.csrfToken = response.body.csrfToken;
    return response;
  }
}

export interface WebUser {
  email: string;
  password: string;
  userId: string;
}

/** An operator's invitation link for a (new) user, from the admin port as registryctl makes it. */
export async function invite(registry: RunningRegistry, email: string, purpose = users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE): Promise<users.CreatePasswordLinkResponse> {
  const client = adminPortClient(registry, users.UserServiceClient);
  try {
    const link = await unaryCall(client.createPasswordLink.bind(client), { user: email, purpose, expiresInSeconds: 0, workspaceSlug: '' }, { authorization: registry.operator.authorization });
    recordSecret(link.secret);
    return link;
  } finally {
    client.close();
  }
}

/** A user with a password set through an invitation, optionally with a role on a repository. */
export async function webUser(registry: RunningRegistry, options: { email?: string; sourceRepositoryId?: string; role?: 'read' | 'write' | 'admin' } = {}): Promise<WebUser> {
  const email = options.email ?? `${uniqueName('web')}@example.com`;
  const link = await invite(registry, email);
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  recordSecret(password);
  const redeemed = await new WebClient(registry.gatewayUrl).request('POST', '/api/v1/password-links/redeem', { secret: link.secret, password });
  if (redeemed.status !== 200) throw new Error(`redeem: ${redeemed.status} ${JSON.stringify(redeemed.body)}`);
  if (options.sourceRepositoryId && options.role) {
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const role = { read: admin.Role.ROLE_READ, write: admin.Role.ROLE_WRITE, admin: admin.Role.ROLE_ADMIN }[options.role];
      await unaryCall(client.setMembership.bind(client), { sourceRepositoryId: options.sourceRepositoryId, userId: link.userId, role }, { authorization: registry.operator.authorization });
    } finally {
      client.close();
    }
  }
  return { email, password, userId: link.userId };
}

/** A signed-in client of a new user. */
export async function signedIn(registry: RunningRegistry, options: Parameters<typeof webUser>[1] = {}): Promise<{ user: WebUser; web: WebClient }> {
  const user = await webUser(registry, options);
  const web = new WebClient(registry.gatewayUrl);
  const response = await web.signIn(user.email, user.password);
  if (response.status !== 201) throw new Error(`sign-in: ${response.status} ${JSON.stringify(response.body)}`);
  return { user, web };
}
