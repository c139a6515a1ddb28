/**
 * Where a user opens an invitation or reset link: the web UI's set-password
 * page, with the secret in the fragment (browsers never send a fragment to
 * the server, so it reaches no access log and no Referer).
 */
export function passwordLinkUrl(base: string | undefined, secret: string): string {
  return `${(base ?? '').replace(/\/$/, '')}/set-password#${secret}`;
}
