import { z } from 'zod';
import { text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { apiToken, exact, nothing } from './shapes';

const MAX_TOKEN_DAYS = 365;
const SCOPES_MESSAGE = 'scopes: a list, e.g. ["read:package","write:package"]';
const DAYS_MESSAGE = `expiresInDays: a whole number of days from 1 to ${MAX_TOKEN_DAYS}`;

/** The caller's own API tokens and invitations to the web UI. */
export const tokenApi = {
  /** GET /tokens */
  listTokens: {
    response: exact({ tokens: z.array(apiToken) }),
  },
  /** POST /tokens (201): the secret is in the answer once, with the docker login line */
  createToken: {
    body: z.object({
      name: text(),
      scopes: z.array(z.string(), { message: SCOPES_MESSAGE }).min(1, SCOPES_MESSAGE),
      /** Numbers written as strings are taken too. */
      expiresInDays: z.coerce.number({ message: DAYS_MESSAGE }).int(DAYS_MESSAGE).min(1, DAYS_MESSAGE).max(MAX_TOKEN_DAYS, DAYS_MESSAGE),
    }),
    response: exact({ token: apiToken.omit({ revokedAt: true }), secret: z.string(), dockerLogin: z.string() }),
  },
  /** DELETE /tokens/{id} */
  revokeToken: { response: nothing },
  /** POST /invitations (201): a link for someone without an account (operators: also a reset, purpose "reset") */
  createInvitation: {
    body: z.object({
      email: text(),
      workspace: text(),
      purpose: text().transform((purpose) => (purpose === 'reset' ? 'reset' : 'invite')),
    }),
    response: exact({ email: z.string(), expiresAt: z.string(), url: z.string() }),
  },
} satisfies Record<string, RouteSchema>;
