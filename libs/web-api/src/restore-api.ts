import { z } from 'zod';
import type { RouteSchema } from './route-schema';
import { exact } from './shapes';

/** A deletion still in the restore window (docs/lifecycle-restore.md): what one delete removed, restorable together. */
export const deletion = exact({
  id: z.string(),
  kind: z.enum(['tag', 'manifest', 'image']),
  fullName: z.string(),
  deletedAt: z.string(),
  restorableUntil: z.string(),
  /** Who deleted: a user's email (or id), or a service acting on its own (e.g. retention). */
  actorUserId: z.string(),
  actorEmail: z.string(),
  actorService: z.string(),
  tags: z.array(exact({ tag: z.string(), digest: z.string() })),
  manifests: z.array(exact({ digest: z.string(), mediaType: z.string(), size: z.number() })),
  /** The blobs its manifests reference, each once. */
  bytes: z.number(),
});

const listed = exact({ deletions: z.array(deletion), restoreWindowSeconds: z.number() });

/** Recently deleted: listed and restored by who may delete (a package's Write, Admins for images), workspace admins for the workspace. */
export const restoreApi = {
  /** GET /workspaces/{ws}/deleted (workspace admins) */
  listWorkspaceDeleted: { response: listed },
  /** GET /workspaces/{ws}/images/{name}/-/deleted (Write on the package) */
  listPackageDeleted: { response: listed },
  /** POST /workspaces/{ws}/deleted/{id}/restore: refused (412) when the window ended or a tag was pushed again to another digest */
  restoreDeletion: {
    response: exact({ deletion, restoredManifests: z.array(z.string()), restoredTags: z.array(z.string()) }),
  },
} satisfies Record<string, RouteSchema>;
