import { checkText } from './text-input';

/**
 * The user name (an email) and password (an API token) of an
 * `Authorization: Basic` header, checked as text like every other field;
 * undefined for another scheme or without a colon.
 */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  checkText(credentials.username, 'username');
  checkText(credentials.password, 'password');
  return credentials;
}
