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
  /** GET /sign-in-methods: how people may sign in here (no credential needed). */
  /** `refusal`: why the last single sign-on of this browser was refused (told once, from an HttpOnly cookie, never from the URL). */
  signInMethods: {
    response: exact({ password: z.boolean(), providers: z.array(exact({ name: z.string(), displayName: z.string(), startUrl: z.string() })), refusal: z.string().optional() }),
  },
  /** GET /oidc/{provider}/start?returnTo=/path: a redirect to the identity provider (sets the sign-in's state cookie). */
  startOidcSignIn: {
    query: z.object({ returnTo: z.string().max(500).optional() }),
    response: nothing,
  },
  /** GET /oidc/{provider}/callback: the provider's answer; a redirect to returnTo, signed in, or back to /sign-in with the refusal in a cookie */
  completeOidcSignIn: {
    query: z.object({ state: z.string().max(200).optional(), code: z.string().max(4000).optional(), error: z.string().max(200).optional() }).passthrough(),
    response: nothing,
  },
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
