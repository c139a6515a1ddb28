import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { auth } from '@ocireg/proto';
import { basicCredentials } from './basic-credentials';
import { readSmallBody } from './http-io';
import { checkParams } from './text-input';

/** RFC 8693 token exchange: a CI job trades its OIDC ID token for a registry token. */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SUBJECT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt'];
/** The username auth takes a CI job's ID token with (auth's CI_USERNAME). */
const CI_USERNAME = 'oidc';

/**
 * The docker token endpoint (distribution token spec): GET with Basic auth and
 * `scope=` parameters, or the OAuth2 POST form (grant_type=password|refresh_token,
 * and token exchange of a CI job's ID token). Partial grants are not errors;
 * the token lists what was granted.
 */
export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  authClient: auth.AuthServiceClient,
  requestId: string,
  clientIp: string,
  /** What the requested scopes mean here (a mirror host's name the mirrored packages); as asked when absent. */
  mapScopes: (scopes: string[]) => string[] = (scopes) => scopes,
): Promise<void> {
  let username = '';
  let password = '';
  let refreshToken = '';
  let scopes: string[];
  let offline: boolean;

  if (req.method === 'GET') {
    const basic = basicCredentials(req.headers.authorization);
    username = basic?.username ?? '';
    password = basic?.password ?? '';
    scopes = url.searchParams.getAll('scope');
    offline = url.searchParams.get('offline_token') === 'true';
  } else if (req.method === 'POST') {
    const form = new URLSearchParams((await readSmallBody(req, 64 * 1024)).toString('utf8'));
    checkParams(form);
    const grantType = form.get('grant_type');
    if (grantType === 'password') {
      username = form.get('username') ?? '';
      password = form.get('password') ?? '';
    } else if (grantType === 'refresh_token') {
      refreshToken = form.get('refresh_token') ?? '';
    } else if (grantType === TOKEN_EXCHANGE) {
      const type = form.get('subject_token_type') ?? '';
      if (!SUBJECT_TOKEN_TYPES.includes(type)) throw new RegistryError('UNSUPPORTED', `subject_token_type must be ${SUBJECT_TOKEN_TYPES.join(' or ')}`, undefined, 400);
      username = CI_USERNAME;
      password = form.get('subject_token') ?? '';
    } else {
      throw new RegistryError('UNSUPPORTED', `grant_type must be password, refresh_token or ${TOKEN_EXCHANGE}, not ${(grantType ?? '(none)').slice(0, 60)}`, undefined, 400);
    }
    scopes = form.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    offline = form.get('access_type') === 'offline';
  } else {
    throw new RegistryError('UNSUPPORTED', `method ${req.method} is not supported here`);
  }

  const issued = await unaryCall(
    authClient.issueRegistryToken.bind(authClient),
    { username, password, refreshToken, scopes: mapScopes(scopes.slice(0, 100)), offline, clientIp },
    // Where a refused login came from, for auth's audit log.
    { requestId, origin: { channel: 'registry', clientAddress: clientIp, userAgent: req.headers['user-agent'] ?? '' } },
  );
  const body: Record<string, unknown> = { token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt };
  if (req.method === 'POST' && username === CI_USERNAME && !refreshToken) Object.assign(body, { issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer' });
  if (issued.refreshToken) body.refresh_token = issued.refreshToken;
  const payload = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'Cache-Control': 'no-store' });
  res.end(payload);
}
