import { z } from 'zod';
import { text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing, user } from './shapes';

const EMAIL_AND_PASSWORD = 'email and password are required';

/** Sign-in, the current session, sign-out, and setting a password with an invitation or reset link. */
export const sessionApi = {
  /** POST /session (201): sets the session cookie. */
  signIn: {
    body: z
      .object({ email: text(), password: text() })
      .superRefine(({ email, password }, ctx) => {
        if (!email || !password) ctx.addIssue({ code: 'custom', path: [email ? 'password' : 'email'], message: EMAIL_AND_PASSWORD });
      }),
    response: exact({ user, csrfToken: z.string(), expiresAt: z.string() }),
  },
  /** GET /session: who is calling, and how (the CSRF token for a session, else ""). */
  currentSession: {
    response: exact({ user, csrfToken: z.string(), via: z.enum(['session', 'api-token', 'registry-token']) }),
  },
  /** DELETE /session */
  signOut: { response: nothing },
  /** POST /password-links/inspect */
  inspectPasswordLink: {
    body: z.object({ secret: text() }),
    /** purpose: invite or reset. */
    response: exact({ email: z.string(), purpose: z.string(), expiresAt: z.string() }),
  },
  /** POST /password-links/redeem */
  redeemPasswordLink: {
    body: z.object({ secret: text(), password: text() }),
    response: exact({ email: z.string() }),
  },
} satisfies Record<string, RouteSchema>;
