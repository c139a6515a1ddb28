import { z } from 'zod';
import { text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

/** A retention rule (docs/lifecycle-retention.md), with the level it comes from; `optedOutAt` names the level that opted out of it. */
export const retentionRule = exact({
  id: z.string(),
  level: z.string(),
  scopeName: z.string(),
  kind: z.string(),
  pattern: z.string(),
  count: z.number(),
  days: z.number(),
  description: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  optedOutAt: z.string(),
});

export const retentionPreview = exact({
  packageName: z.string(),
  evaluatedAt: z.string(),
  tags: z.array(exact({ name: z.string(), digest: z.string(), updatedAt: z.string(), delete: z.boolean(), keptBy: z.array(z.string()), why: z.string() })),
  tagsTotal: z.number(),
  deleteTagsTotal: z.number(),
  deleteManifests: z.array(exact({ digest: z.string(), size: z.number(), why: z.string() })),
  deleteManifestsTotal: z.number(),
  bytes: z.number(),
  needsConfirmation: z.boolean(),
});

const count = z.number().int().min(0).max(100_000).optional().default(0);

/** Retention rules, previews and applies of a package: RetentionService's role checks apply. */
export const retentionApi = {
  /** GET /workspaces/{ws}/retention?package= : the rules that reach a package, from every level. */
  getPackageRetention: {
    query: z.object({ package: text() }),
    response: exact({ rules: z.array(retentionRule) }),
  },
  /** POST /workspaces/{ws}/retention/rules */
  createRetentionRule: {
    body: z.object({
      level: z.enum(['workspace', 'project', 'source-repository', 'package'], { message: 'level must be workspace, project, source-repository or package' }),
      project: text(),
      sourceRepositoryId: text(),
      package: text(),
      kind: text(),
      pattern: text(),
      count,
      days: count,
    }),
    response: exact({ rule: retentionRule }),
  },
  /** DELETE /workspaces/{ws}/retention/rules/{id} */
  deleteRetentionRule: { response: nothing },
  /** POST /workspaces/{ws}/retention/preview {package}: the dry run. */
  previewRetention: {
    body: z.object({ package: text() }),
    response: exact({ preview: retentionPreview }),
  },
  /** POST /workspaces/{ws}/retention/apply {package, confirm} */
  applyRetention: {
    body: z.object({ package: text(), confirm: z.boolean().optional().default(false) }),
    response: exact({ deletedTags: z.array(z.string()), deletedManifests: z.array(z.string()), skipped: z.array(exact({ kind: z.string(), name: z.string(), why: z.string() })) }),
  },
} satisfies Record<string, RouteSchema>;
