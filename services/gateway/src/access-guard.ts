import type { IncomingMessage } from 'node:http';

/** `delete` removes tags (Write); `delete-manifest` removes images and blobs (Admin). */
export type RepositoryAction = 'pull' | 'push' | 'delete' | 'delete-manifest';

/** Every OCI route asks the guard before it touches a repository (implemented by TokenAccessGuard). */
export interface AccessGuard {
  /**
   * Throws a RegistryError (401 with a challenge, or DENIED) unless the request
   * may do `actions` on `repository`; returns who is asking ("" for anonymous).
   */
  authorize(request: IncomingMessage, repository: string, actions: RepositoryAction[]): Promise<string>;
  /** Throws unless the request carries valid credentials (GET /v2/). */
  authenticate(request: IncomingMessage): Promise<void>;
  /** Workspaces whose repositories the caller may list in the catalog. */
  catalogWorkspaces(request: IncomingMessage): Promise<string[] | 'all'>;
}
