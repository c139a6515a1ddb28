import { readFileSync } from 'node:fs';
import { z } from '@ocireg/config';
import { checkIssuerUrl } from './ci-identity';

/** A provider's name: in its callback URL and on the sessions it opens ("password" is the password sign-in's). */
const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const REPOSITORY_PATH = /^[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9][a-z0-9-]{0,62}$/;

/** A group of the provider's that gives a role: workspace admin (no sourceRepository), or a role on "<project>/<repository>". */
const groupRole = z
  .object({
    group: z.string().min(1).max(300),
    workspace: z.string().regex(SLUG, 'must be a workspace slug'),
    sourceRepository: z.string().regex(REPOSITORY_PATH, 'must be "<project>/<repository>"').optional(),
    role: z.enum(['read', 'write', 'admin']).default('admin'),
  })
  .refine((g) => g.sourceRepository || g.role === 'admin', { message: 'a workspace-wide grant is workspace admin (role admin); name a sourceRepository for read or write' });

const provider = z.object({
  name: z.string().regex(NAME, 'must be lowercase letters, digits and dashes (at most 40)').refine((n) => n !== 'password', 'password names the password sign-in'),
  /** What the sign-in button says ("Sign in with <displayName>"). */
  displayName: z.string().min(1).max(80).optional(),
  issuer: z.string().superRefine((value, ctx) => {
    try {
      checkIssuerUrl('issuer', value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  clientId: z.string().min(1).max(300),
  clientSecret: z.string().min(1).max(1000),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default(['openid', 'email', 'profile']),
  /** The claim that holds the email (ID token, else userinfo). */
  emailClaim: z.string().min(1).max(100).default('email'),
  /** Providers that send no email_verified claim but only ever give verified emails; otherwise a missing claim counts as unverified. */
  emailsAlwaysVerified: z.boolean().default(false),
  /** The claim that lists the user's groups (an array of strings). */
  groupsClaim: z.string().min(1).max(100).optional(),
  groupRoles: z.array(groupRole).max(200).default([]),
});

export type OidcProviderConfig = z.output<typeof provider>;

const providers = z
  .array(provider)
  .max(20)
  .refine((list) => new Set(list.map((p) => p.name)).size === list.length, 'provider names must differ');

/**
 * The identity providers people sign in with (OIDC_PROVIDERS, JSON, or the
 * file OIDC_PROVIDERS_FILE names, for a secret store that writes files; the
 * chart sets OIDC_PROVIDERS from a Secret, since it
 * holds client secrets). Validated once at start-up; a bad entry fails it
 * with the path of the field at fault.
 */
export function loadOidcProviders(json: string | undefined, file: string | undefined): OidcProviderConfig[] {
  const text = file ? readFileSync(file, 'utf8') : json;
  if (!text || !text.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file ? 'OIDC_PROVIDERS_FILE' : 'OIDC_PROVIDERS'}: is not JSON`);
  }
  const result = providers.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(list)'}: ${issue.message}`);
    throw new Error(`${file ? 'OIDC_PROVIDERS_FILE' : 'OIDC_PROVIDERS'}: ${problems.join('; ')}`);
  }
  return result.data;
}
