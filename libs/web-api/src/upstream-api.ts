import { z } from 'zod';
import { requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

/** An upstream registry of a workspace's pull-through cache (docs/pull-through.md); its password is never shown. */
export const upstream = exact({
  name: z.string(),
  workspaceSlug: z.string(),
  url: z.string(),
  username: z.string(),
  hasPassword: z.boolean(),
  sourceRepositoryId: z.string(),
  namespaces: z.array(z.string()),
  tagTtlSeconds: z.number(),
  createdAt: z.string(),
});

/** A workspace's upstreams: listed by whoever may see the workspace, changed by operators and workspace admins. */
export const upstreamApi = {
  /** GET /workspaces/{ws}/upstreams */
  listUpstreams: {
    response: exact({ upstreams: z.array(upstream) }),
  },
  /** POST /workspaces/{ws}/upstreams */
  createUpstream: {
    body: z.object({
      name: requiredText('name is required'),
      url: requiredText('url is required'),
      username: text(),
      password: text(),
      sourceRepositoryId: requiredText('sourceRepositoryId is required'),
      namespaces: z.array(z.string().max(255)).max(100).optional().default([]),
      tagTtlSeconds: z.number().int().min(0).optional(),
    }),
    response: exact({ upstream }),
  },
  /** DELETE /workspaces/{ws}/upstreams/{name} */
  deleteUpstream: { response: nothing },
} satisfies Record<string, RouteSchema>;
