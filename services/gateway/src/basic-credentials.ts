import { checkText } from './text-input';

/** The username a CI job logs in with; its password is an OIDC ID token (a JWT, longer than any API token). */
const CI_USERNAME = 'oidc';

/**
 * The user name (an email) and password (an API token, or a CI job's ID
 * token) of an `Authorization: Basic` header, checked as text like every
 * other field; undefined for another scheme or without a colon.
 */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  checkText(credentials.username, 'username');
  checkText(credentials.password, credentials.username.trim().toLowerCase() === CI_USERNAME ? 'id_token' : 'password');
  return credentials;
}
