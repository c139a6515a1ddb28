import { z } from 'zod';
import { requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

const mapping = z.object({
  claimValue: requiredText('mappings: each needs a claimValue'),
  sourceRepository: requiredText('mappings: each needs a sourceRepository ("<project>/<repository>")'),
  pullSourceRepositories: z.array(text()).max(50).default([]),
});

/** A CI issuer a workspace trusts: which claim names a job's repository, and which source repository each value maps to. */
export const trustedIssuer = exact({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  issuerUrl: z.string(),
  jwksUrl: z.string(),
  repositoryClaim: z.string(),
  mappings: z.array(exact({ claimValue: z.string(), sourceRepository: z.string(), pullSourceRepositories: z.array(z.string()) })),
  createdAt: z.string(),
});

/** A workspace's trusted CI issuers (its admins manage them): jobs log in with `docker login --username oidc` and their ID token. */
export const trustedIssuerApi = {
  /** GET /workspaces/{ws}/trusted-issuers */
  listTrustedIssuers: {
    response: exact({ trustedIssuers: z.array(trustedIssuer) }),
  },
  /** POST /workspaces/{ws}/trusted-issuers (201) */
  createTrustedIssuer: {
    body: z.object({
      name: requiredText('name is required'),
      kind: z.enum(['github-actions', 'gitlab-ci', 'bitbucket-pipelines', 'custom'], { message: 'kind must be github-actions, gitlab-ci, bitbucket-pipelines or custom' }).default('custom'),
      issuerUrl: text(),
      jwksUrl: text(),
      repositoryClaim: text(),
      mappings: z.array(mapping, { message: 'mappings: a list of {claimValue, sourceRepository}' }).min(1, 'mappings: at least one').max(100),
    }),
    response: exact({ trustedIssuer }),
  },
  /** DELETE /workspaces/{ws}/trusted-issuers/{id}: its jobs' logins stop (refresh tokens included) */
  deleteTrustedIssuer: { response: nothing },
} satisfies Record<string, RouteSchema>;
