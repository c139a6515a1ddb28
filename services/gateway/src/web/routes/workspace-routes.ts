import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { admin } from '@ocireg/proto';
import { intParam, jsonRoute } from '../api-context';
import { repositoryJson, workspaceJson } from '../api-shapes';
import { repositoryIdOf } from '../repository-refs';
import type { WebCallers } from '../web-callers';

/**
 * Workspaces, projects and repositories the caller may see, and a
 * workspace's storage use and quota: AdminService read calls forwarded to
 * metadata with the caller's assertion (metadata filters what they may see;
 * anything else is NOT_FOUND, like what does not exist).
 */
export function workspaceRoutes(deps: { admin: admin.AdminServiceClient; web: WebCallers; logger: Logger }): Router {
  const { admin: client, web, logger } = deps;
  const router = Router();
  const route = (handler: Parameters<typeof jsonRoute>[2]) => jsonRoute(web, logger, handler);

  router.get(
    '/workspaces',
    route(async ({ actor, as, query }) => {
      const page = await unaryCall(client.listWorkspaces.bind(client), { pageSize: intParam(query('page_size'), 'page_size', 100, 500), pageToken: query('page_token') }, as(await actor()));
      return { workspaces: page.workspaces.map(workspaceJson), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace',
    route(async ({ req, actor, as }) => {
      const found = await unaryCall(client.getWorkspace.bind(client), { slug: String(req.params.workspace) }, as(await actor()));
      return { workspace: found.workspace && workspaceJson(found.workspace), callerIsAdmin: found.callerIsAdmin };
    }),
  );
  router.get(
    '/workspaces/:workspace/usage',
    route(async ({ req, actor, as }) => {
      const usage = await unaryCall(client.getStorageUsage.bind(client), { workspaceSlug: String(req.params.workspace) }, as(await actor()));
      return { workspaceBytes: usage.workspaceBytes, storageQuotaBytes: usage.storageQuotaBytes ?? null, repositories: usage.repositories };
    }),
  );
  router.get(
    '/workspaces/:workspace/projects',
    route(async ({ req, actor, as, query }) => {
      const page = await unaryCall(client.listProjects.bind(client), { workspaceSlug: String(req.params.workspace), pageSize: intParam(query('page_size'), 'page_size', 100, 500), pageToken: query('page_token') }, as(await actor()));
      return { projects: page.projects.map((p) => ({ slug: p.slug, name: p.name, workspaceSlug: p.workspaceSlug })), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace/projects/:project',
    route(async ({ req, actor, as }) => {
      const { project } = await unaryCall(client.getProject.bind(client), { workspaceSlug: String(req.params.workspace), slug: String(req.params.project) }, as(await actor()));
      return { project: project && { slug: project.slug, name: project.name, workspaceSlug: project.workspaceSlug } };
    }),
  );
  router.get(
    '/workspaces/:workspace/repositories',
    route(async ({ req, actor, as, query }) => {
      const page = await unaryCall(
        client.listRepositories.bind(client),
        { workspaceSlug: String(req.params.workspace), projectSlug: query('project'), pageSize: intParam(query('page_size'), 'page_size', 100, 500), pageToken: query('page_token') },
        as(await actor()),
      );
      return { repositories: page.repositories.map(repositoryJson), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace/repositories/:repository',
    route(async ({ req, actor, as, query }) => {
      const options = as(await actor());
      const repositoryId = await repositoryIdOf(client, String(req.params.workspace), String(req.params.repository), query('project'), options);
      const { repository } = await unaryCall(client.getRepository.bind(client), { repositoryId }, options);
      if (!repository || repository.workspaceSlug !== req.params.workspace) throw new RegistryError('NOT_FOUND', `repository ${String(req.params.repository).slice(0, 64)} does not exist in this workspace`, { field: 'repository' });
      return { repository: repositoryJson(repository) };
    }),
  );
  return router;
}
