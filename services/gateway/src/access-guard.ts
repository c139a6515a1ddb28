import type { IncomingMessage } from 'node:http';

export type RepositoryAction = 'pull' | 'push' | 'delete';

/**
 * THE AUTH SEAM. Every OCI route calls `authorize` before it touches a
 * repository. The auth issue (#4) replaces OpenAccessGuard with a guard that
 * verifies bearer tokens and answers 401 with WWW-Authenticate.
 */
export interface AccessGuard {
  /** Throws a RegistryError (UNAUTHORIZED or DENIED) when the request may not do `actions` on `repository`. */
  authorize(request: IncomingMessage, repository: string, actions: RepositoryAction[]): Promise<void>;
  /** Workspaces whose repositories the caller may list in the catalog, or 'all'. */
  catalogWorkspaces(request: IncomingMessage): Promise<string[] | 'all'>;
}

/** Allows everything. Only for the foundation slice, before auth exists. */
export class OpenAccessGuard implements AccessGuard {
  async authorize(): Promise<void> {}

  async catalogWorkspaces(): Promise<'all'> {
    return 'all';
  }
}
