import { z } from 'zod';
import { pageSize, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, project, sourceRepository, workspace } from './shapes';

/** A page of a list: `page_size` up to 500 (100 when absent), `page_token` from the previous page's `nextPageToken`. */
const page = { page_size: pageSize(500, 100), page_token: text() };

/** Workspaces, projects and source repositories the caller may see, and a workspace's storage use. */
export const workspaceApi = {
  /** GET /workspaces */
  listWorkspaces: {
    query: z.object(page),
    response: exact({ workspaces: z.array(workspace), nextPageToken: z.string() }),
  },
  /** GET /workspaces/{ws} */
  getWorkspace: {
    response: exact({ workspace, callerIsAdmin: z.boolean() }),
  },
  /** GET /workspaces/{ws}/usage: bytes stored (each blob once) against the quota, per image. */
  getStorageUsage: {
    response: exact({
      workspaceBytes: z.number(),
      storageQuotaBytes: z.number().nullable(),
      /** Each package's full name and bytes. */
      packages: z.array(exact({ fullName: z.string(), bytes: z.number() })),
      /** What the restore window holds: bytes only deletions in it still reference (freed when it ends), and counts. */
      restoreWindow: exact({ bytes: z.number(), deletions: z.number(), manifests: z.number(), tags: z.number() }),
    }),
  },
  /** GET /workspaces/{ws}/projects */
  listProjects: {
    query: z.object(page),
    response: exact({ projects: z.array(project), nextPageToken: z.string() }),
  },
  /** GET /workspaces/{ws}/projects/{project} */
  getProject: {
    response: exact({ project }),
  },
  /** GET /workspaces/{ws}/repositories[?project=] */
  listSourceRepositories: {
    query: z.object({ project: text(), ...page }),
    response: exact({ sourceRepositories: z.array(sourceRepository), nextPageToken: z.string() }),
  },
  /** GET /workspaces/{ws}/repositories/{id or slug}[?project=] (project: where two projects have a repository of that slug) */
  getSourceRepository: {
    query: z.object({ project: text() }),
    response: exact({ sourceRepository }),
  },
} satisfies Record<string, RouteSchema>;
