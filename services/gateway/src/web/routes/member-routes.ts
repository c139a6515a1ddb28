import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { admin } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import type { UserResolver } from '../../admin/users-by-email';
import { jsonRoutes } from '../api-context';
import { roleOfWord, roleWord } from '../api-shapes';
import type { WebCallers } from '../web-callers';

/**
 * A source repository's members and their roles (visible to its members),
 * changed by its Admins: metadata checks both. Users are named by email here
 * and resolved at auth, as on the admin port.
 */
export function memberRoutes(deps: { admin: admin.AdminServiceClient; people: UserResolver; web: WebCallers; logger: Logger }): Router {
  const { admin: client, people, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/repositories/:sourceRepositoryId/members',
    route(webApi.listMembers, async ({ req, requestId, actor, as }) => {
      const { memberships } = await unaryCall(client.listMemberships.bind(client), { sourceRepositoryId: String(req.params.sourceRepositoryId) }, as(await actor()));
      const emails = await people.emailsOf(memberships.map((m) => m.userId), requestId);
      return { members: memberships.map((m) => ({ userId: m.userId, email: emails.get(m.userId) ?? '', role: roleWord(m.role) })).sort((a, b) => a.email.localeCompare(b.email)) };
    }),
  );
  router.put(
    '/repositories/:sourceRepositoryId/members',
    route(webApi.setMember, async ({ req, requestId, actor, as, body }) => {
      const caller = await actor();
      const sourceRepositoryId = String(req.params.sourceRepositoryId);
      const workspaceOf = async () => (await unaryCall(client.getSourceRepository.bind(client), { sourceRepositoryId }, as(caller))).sourceRepository?.workspaceSlug ?? '';
      const userId = await people.idOf(body.user, requestId, workspaceOf);
      await unaryCall(client.setMembership.bind(client), { sourceRepositoryId: String(req.params.sourceRepositoryId), userId, role: roleOfWord(body.role) }, as(caller));
      return { member: { userId, role: body.role } };
    }),
  );
  router.delete(
    '/repositories/:sourceRepositoryId/members/:userId',
    route(webApi.removeMember, async ({ req, actor, as }) => {
      await unaryCall(client.removeMembership.bind(client), { sourceRepositoryId: String(req.params.sourceRepositoryId), userId: String(req.params.userId) }, as(await actor()));
      return {};
    }),
  );
  return router;
}
