import type { IncomingMessage } from 'node:http';

/** `delete` removes tags (Write); `delete-manifest` removes images and blobs (Admin). */
export type RepositoryAction = 'pull' | 'push' | 'delete' | 'delete-manifest';

/** Who a registry request acts for: the user ("" for anonymous) and the API token behind their registry token ("" for none). */
export interface Actor {
  userId: string;
  tokenId: string;
}

/** Every OCI route asks the guard before it touches a repository (implemented by TokenAccessGuard). */
export interface AccessGuard {
  /**
   * Throws a RegistryError (401 with a challenge, or DENIED) unless the request
   * may do `actions` on `repository`; returns who is asking.
   * `alsoAsk` adds scopes to the challenge (a mount's source: "repository:<from>:pull").
   */
  authorize(request: IncomingMessage, repository: string, actions: RepositoryAction[], alsoAsk?: string[]): Promise<Actor>;
  /** Throws unless the request carries valid credentials (GET /v2/). */
  authenticate(request: IncomingMessage): Promise<void>;
  /** The user behind valid credentials (listings filter by what they may see); 401 with a challenge for `scope` without. */
  viewer(request: IncomingMessage, scope: string): Promise<string>;
  /** The client's address: the peer, or X-Forwarded-For's from trusted proxies. */
  clientAddress(request: IncomingMessage): string;
}
