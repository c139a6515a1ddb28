import { z } from 'zod';
import { oneOf, requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

/** Where an immutable tag rule is set (issue 24, docs/lifecycle-immutable.md); it applies to every package below. */
export const IMMUTABLE_RULE_LEVELS = ['workspace', 'project', 'source_repository', 'package'] as const;

/** An immutable tag rule: a tag pattern (`v*`, `release-?`, `*`) at one level. */
export const immutableTagRule = exact({
  id: z.string(),
  workspaceSlug: z.string(),
  level: z.enum(IMMUTABLE_RULE_LEVELS),
  /** The level's own name: the project's slug, the source repository's id, the package's name ("" at the workspace). */
  projectSlug: z.string(),
  sourceRepositoryId: z.string(),
  packageName: z.string(),
  /** The scope in words: "acme", "acme/backend", "acme/backend/api", "acme/api". */
  scopeName: z.string(),
  pattern: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
});

/**
 * Immutable tag rules: listed by whoever may see their scope; changed by
 * operators and workspace admins (workspace and project rules) and by a source
 * repository's Admins (the repository's and its packages' rules).
 */
export const immutableTagApi = {
  /** GET /workspaces/{ws}/immutable-tag-rules: every rule of the workspace the caller may see. */
  listImmutableTagRules: {
    response: exact({ rules: z.array(immutableTagRule) }),
  },
  /** GET /workspaces/{ws}/images/{name}/-/immutable-tag-rules: the rules in effect for a package, outermost level first. */
  getEffectiveImmutableTagRules: {
    response: exact({ rules: z.array(immutableTagRule) }),
  },
  /** POST /workspaces/{ws}/immutable-tag-rules */
  createImmutableTagRule: {
    body: z.object({
      level: oneOf(IMMUTABLE_RULE_LEVELS, 'level must be workspace, project, source_repository or package'),
      pattern: requiredText('pattern is required (a glob such as v*, release-?, or * for every tag)'),
      /** The project's slug, for project rules. */
      project: text(),
      /** The source repository's id, for source repository rules. */
      sourceRepositoryId: text(),
      /** The package's name, for package rules. */
      package: text(),
    }),
    response: exact({ rule: immutableTagRule }),
  },
  /** DELETE /workspaces/{ws}/immutable-tag-rules/{id} */
  deleteImmutableTagRule: { response: nothing },
} satisfies Record<string, RouteSchema>;
