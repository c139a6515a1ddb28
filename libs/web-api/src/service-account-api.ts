import { z } from 'zod';
import { requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { apiToken, exact, nothing } from './shapes';

const MAX_TOKEN_DAYS = 365;
const SCOPES_MESSAGE = 'scopes: a list, e.g. ["read:package","write:package"]';
const DAYS_MESSAGE = `expiresInDays: a whole number of days from 1 to ${MAX_TOKEN_DAYS}`;

/** A workspace's service account: `loginName` is the username of docker login. */
export const serviceAccount = exact({ id: z.string(), name: z.string(), loginName: z.string(), displayName: z.string(), createdAt: z.string() });

/** Service accounts of a workspace and their tokens (its admins manage them; roles are given on repositories' pages by login name). */
export const serviceAccountApi = {
  /** GET /workspaces/{ws}/service-accounts */
  listServiceAccounts: {
    response: exact({ serviceAccounts: z.array(serviceAccount) }),
  },
  /** POST /workspaces/{ws}/service-accounts (201) */
  createServiceAccount: {
    body: z.object({ name: requiredText('name is required'), displayName: text() }),
    response: exact({ serviceAccount }),
  },
  /** DELETE /workspaces/{ws}/service-accounts/{id}: its tokens are revoked */
  deleteServiceAccount: { response: nothing },
  /** GET /workspaces/{ws}/service-accounts/{id}/tokens */
  listServiceAccountTokens: {
    response: exact({ tokens: z.array(apiToken) }),
  },
  /** POST /workspaces/{ws}/service-accounts/{id}/tokens (201): the secret is in the answer once, with the docker login line */
  createServiceAccountToken: {
    body: z.object({
      name: text(),
      scopes: z.array(z.string(), { message: SCOPES_MESSAGE }).min(1, SCOPES_MESSAGE),
      expiresInDays: z.coerce.number({ message: DAYS_MESSAGE }).int(DAYS_MESSAGE).min(1, DAYS_MESSAGE).max(MAX_TOKEN_DAYS, DAYS_MESSAGE),
    }),
    response: exact({ token: apiToken.omit({ revokedAt: true }), secret: z.string(), dockerLogin: z.string() }),
  },
  /** DELETE /workspaces/{ws}/service-accounts/{id}/tokens/{tokenId} */
  revokeServiceAccountToken: { response: nothing },
} satisfies Record<string, RouteSchema>;
