import { z } from 'zod';
import { text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

const MAX_TOKEN_DAYS = 365;
const DAYS_MESSAGE = `expiresInDays: a whole number of days from 1 to ${MAX_TOKEN_DAYS}`;

/** A repository token as its repository's page lists it (createdBy: the email of whoever made it, if known). */
export const repositoryToken = exact({ id: z.string(), name: z.string(), scopes: z.array(z.string()), createdAt: z.string(), expiresAt: z.string(), revokedAt: z.string(), createdBy: z.string() });

/** A source repository's tokens: pipelines' credentials that belong to the repository (its Admins manage them). */
export const repositoryTokenApi = {
  /** GET /repositories/{id}/tokens */
  listRepositoryTokens: {
    response: exact({ tokens: z.array(repositoryToken) }),
  },
  /** POST /repositories/{id}/tokens (201): the secret is in the answer once, with the docker login line */
  createRepositoryToken: {
    body: z.object({
      name: text(),
      /** Push too (read:package and write:package); else pull only. */
      write: z.boolean({ message: 'write: true or false' }).default(false),
      expiresInDays: z.coerce.number({ message: DAYS_MESSAGE }).int(DAYS_MESSAGE).min(1, DAYS_MESSAGE).max(MAX_TOKEN_DAYS, DAYS_MESSAGE),
    }),
    response: exact({ token: repositoryToken.omit({ revokedAt: true, createdBy: true }), secret: z.string(), dockerLogin: z.string() }),
  },
  /** DELETE /repositories/{id}/tokens/{tokenId} */
  revokeRepositoryToken: { response: nothing },
} satisfies Record<string, RouteSchema>;
