import { Router, type Request } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { admin } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { UserResolver } from '../../admin/users-by-email';
import type { WebCallers } from '../web-callers';

// Image names contain slashes; "/-/" separates what follows the name (as package-routes.ts).
const PACKAGE_DELETED = /^\/workspaces\/(?<workspace>[^/]+)\/images\/(?<name>(?:(?!\/-\/).)+)\/-\/deleted\/?$/;

const KINDS = ['tag', 'manifest', 'image'] as const;

export const deletionJson = (d: admin.Deletion) => ({
  id: d.id,
  kind: KINDS.find((k) => k === d.kind) ?? 'tag',
  fullName: d.fullName,
  deletedAt: d.deletedAt,
  restorableUntil: d.restorableUntil,
  actorUserId: d.actorUserId,
  actorEmail: d.actorEmail,
  actorService: d.actorService,
  tags: d.tags.map((t) => ({ tag: t.tag, digest: t.digest })),
  manifests: d.manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType, size: m.size })),
  bytes: d.bytes,
});

/**
 * Recently deleted tags and images (the restore window, docs/lifecycle-restore.md):
 * AdminService's ListDeleted and RestoreDeletion forwarded to metadata with the
 * caller's assertion; metadata decides who may see and restore what.
 */
export function restoreRoutes(deps: { admin: admin.AdminServiceClient; people: UserResolver; web: WebCallers; logger: Logger }): Router {
  const { admin: client, people, web, logger } = deps;
  /** Deletions on /v2 name their user by id only: their emails, from auth. */
  const withEmails = async (deletions: admin.Deletion[], requestId: string) => {
    const emails = await people.emailsOf([...new Set(deletions.filter((d) => !d.actorEmail && d.actorUserId).map((d) => d.actorUserId))], requestId).catch(() => new Map<string, string>());
    return deletions.map((d) => deletionJson({ ...d, actorEmail: d.actorEmail || emails.get(d.actorUserId) || '' }));
  };
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/workspaces/:workspace/deleted',
    route(webApi.listWorkspaceDeleted, async ({ req, actor, as, requestId }) => {
      const listed = await unaryCall(client.listDeleted.bind(client), { workspaceSlug: String(req.params.workspace), name: '' }, as(await actor()));
      return { deletions: await withEmails(listed.deletions, requestId), restoreWindowSeconds: listed.restoreWindowSeconds };
    }),
  );
  router.get(
    PACKAGE_DELETED,
    route(webApi.listPackageDeleted, async ({ req, actor, as, requestId }) => {
      const { workspace, name } = named(req);
      const listed = await unaryCall(client.listDeleted.bind(client), { workspaceSlug: workspace, name }, as(await actor()));
      return { deletions: await withEmails(listed.deletions, requestId), restoreWindowSeconds: listed.restoreWindowSeconds };
    }),
  );
  router.post(
    '/workspaces/:workspace/deleted/:id/restore',
    route(webApi.restoreDeletion, async ({ req, actor, as }) => {
      const caller = await actor();
      const restored = await unaryCall(client.restoreDeletion.bind(client), { workspaceSlug: String(req.params.workspace), deletionId: String(req.params.id) }, as(caller));
      return { deletion: deletionJson(answered(restored.deletion, 'deletion')), restoredManifests: restored.restoredManifests, restoredTags: restored.restoredTags };
    }),
  );
  return router;
}

function named(req: Request): { workspace: string; name: string } {
  const { workspace, name } = req.params as Record<string, string | undefined>;
  return { workspace: workspace ?? '', name: name ?? '' };
}
