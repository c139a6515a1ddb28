import { Router } from 'express';
import { RegistryError } from '@ocireg/errors';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { admin } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered, sourceRepositoryJson, workspaceJson } from '../api-shapes';
import { sourceRepositoryIdOf } from '../repository-refs';
import type { WebCallers } from '../web-callers';

/**
 * Workspaces, projects and source repositories the caller may see, and a
 * workspace's storage use and quota: AdminService read calls forwarded to
 * metadata with the caller's assertion (metadata filters what they may see;
 * anything else is NOT_FOUND, like what does not exist).
 */
export function workspaceRoutes(deps: { admin: admin.AdminServiceClient; web: WebCallers; logger: Logger }): Router {
  const { admin: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const projectJson = (project: admin.Project) => ({ slug: project.slug, name: project.name, workspaceSlug: project.workspaceSlug });

  router.get(
    '/workspaces',
    route(webApi.listWorkspaces, async ({ actor, as, query }) => {
      const page = await unaryCall(client.listWorkspaces.bind(client), { pageSize: query.page_size, pageToken: query.page_token }, as(await actor()));
      return { workspaces: page.workspaces.map(workspaceJson), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace',
    route(webApi.getWorkspace, async ({ req, actor, as }) => {
      const found = await unaryCall(client.getWorkspace.bind(client), { slug: String(req.params.workspace) }, as(await actor()));
      return { workspace: workspaceJson(answered(found.workspace, 'workspace')), callerIsAdmin: found.callerIsAdmin };
    }),
  );
  router.get(
    '/workspaces/:workspace/usage',
    route(webApi.getStorageUsage, async ({ req, actor, as }) => {
      const usage = await unaryCall(client.getStorageUsage.bind(client), { workspaceSlug: String(req.params.workspace) }, as(await actor()));
      const held = usage.restoreWindow ?? { bytes: 0, deletions: 0, manifests: 0, tags: 0 };
      return { workspaceBytes: usage.workspaceBytes, storageQuotaBytes: usage.storageQuotaBytes ?? null, packages: usage.packages, restoreWindow: { bytes: held.bytes, deletions: held.deletions, manifests: held.manifests, tags: held.tags } };
    }),
  );
  router.get(
    '/workspaces/:workspace/projects',
    route(webApi.listProjects, async ({ req, actor, as, query }) => {
      const page = await unaryCall(client.listProjects.bind(client), { workspaceSlug: String(req.params.workspace), pageSize: query.page_size, pageToken: query.page_token }, as(await actor()));
      return { projects: page.projects.map(projectJson), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace/projects/:project',
    route(webApi.getProject, async ({ req, actor, as }) => {
      const { project } = await unaryCall(client.getProject.bind(client), { workspaceSlug: String(req.params.workspace), slug: String(req.params.project) }, as(await actor()));
      return { project: projectJson(answered(project, 'project')) };
    }),
  );
  router.get(
    '/workspaces/:workspace/repositories',
    route(webApi.listSourceRepositories, async ({ req, actor, as, query }) => {
      const page = await unaryCall(
        client.listSourceRepositories.bind(client),
        { workspaceSlug: String(req.params.workspace), projectSlug: query.project, pageSize: query.page_size, pageToken: query.page_token },
        as(await actor()),
      );
      return { sourceRepositories: page.sourceRepositories.map(sourceRepositoryJson), nextPageToken: page.nextPageToken };
    }),
  );
  router.get(
    '/workspaces/:workspace/repositories/:repository',
    route(webApi.getSourceRepository, async ({ req, actor, as, query }) => {
      const options = as(await actor());
      const sourceRepositoryId = await sourceRepositoryIdOf(client, String(req.params.workspace), String(req.params.repository), query.project, options);
      const { sourceRepository } = await unaryCall(client.getSourceRepository.bind(client), { sourceRepositoryId }, options);
      if (!sourceRepository || sourceRepository.workspaceSlug !== req.params.workspace) throw new RegistryError('NOT_FOUND', `repository ${String(req.params.repository).slice(0, 64)} does not exist in this workspace`, { field: 'repository' });
      return { sourceRepository: sourceRepositoryJson(sourceRepository) };
    }),
  );
  return router;
}
