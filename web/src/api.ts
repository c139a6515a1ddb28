/**
 * The JSON API of the gateway (/api/v1), with the session's CSRF token on
 * every change. Each call names its route (@ocireg/web-api), which types what
 * it sends and what it gets back: `api<'createToken'>('POST', '/tokens', {...})`.
 */
import type { ApiBody, ApiResponse, RouteName } from '@ocireg/web-api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => undefined;

/** Set after sign-in and on start: state-changing requests carry it in X-CSRF-Token. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the server says the session has ended (401), so the app shows the sign-in page. */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

export async function api<K extends RouteName>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: ApiBody<K>): Promise<ApiResponse<K>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  const response = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const data = (await response.json().catch(() => ({}))) as { errors?: Array<{ code?: string; message?: string }> };
  if (!response.ok) {
    const first = data.errors?.[0];
    if (response.status === 401 && path !== '/session') onSignedOut();
    throw new ApiError(response.status, first?.code ?? 'UNKNOWN', first?.message ?? `request failed (${response.status})`);
  }
  return data as ApiResponse<K>;
}

export const get = <K extends RouteName>(path: string) => api<K>('GET', path);

/** Path segments of an image name are kept; each is encoded. */
export function imagePath(workspace: string, name: string): string {
  return `/workspaces/${encodeURIComponent(workspace)}/images/${name.split('/').map(encodeURIComponent).join('/')}`;
}
