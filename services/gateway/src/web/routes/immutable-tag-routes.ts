import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { immutableTags } from '@ocireg/proto';
import { webApi, type ImmutableTagRule } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { WebCallers } from '../web-callers';

const Level = immutableTags.ImmutableTagRuleLevel;
const LEVEL_WORDS: Record<ImmutableTagRule['level'], immutableTags.ImmutableTagRuleLevel> = {
  workspace: Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE,
  project: Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT,
  source_repository: Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY,
  package: Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE,
};
const wordOf = (level: immutableTags.ImmutableTagRuleLevel): ImmutableTagRule['level'] =>
  (Object.entries(LEVEL_WORDS).find(([, value]) => value === level)?.[0] ?? 'workspace') as ImmutableTagRule['level'];

const ruleJson = (r: immutableTags.ImmutableTagRule): ImmutableTagRule => ({
  id: r.id,
  workspaceSlug: r.workspaceSlug,
  level: wordOf(r.level),
  projectSlug: r.projectSlug,
  sourceRepositoryId: r.sourceRepositoryId,
  packageName: r.packageName,
  scopeName: r.scopeName,
  pattern: r.pattern,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
});

// Image names contain slashes; "/-/" ends the name (as in package-routes.ts).
const EFFECTIVE = /^\/workspaces\/(?<workspace>[^/]+)\/images\/(?<name>(?:(?!\/-\/).)+)\/-\/immutable-tag-rules$/;

/**
 * Immutable tag rules (issue 24): ImmutableTagService forwarded to metadata
 * with the caller's assertion, which decides who may list (those who see the
 * scope) and change (workspace admins; a source repository's Admins for the
 * repository and its packages).
 */
export function immutableTagRoutes(deps: { immutableTags: immutableTags.ImmutableTagServiceClient; web: WebCallers; logger: Logger }): Router {
  const { immutableTags: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);

  router.get(
    '/workspaces/:workspace/immutable-tag-rules',
    route(webApi.listImmutableTagRules, async ({ req, actor, as }) => {
      const scope = { workspaceSlug: String(req.params.workspace), level: Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED, projectSlug: '', sourceRepositoryId: '', packageName: '' };
      const listed = await unaryCall(client.listImmutableTagRules.bind(client), { scope }, as(await actor()));
      return { rules: listed.rules.map(ruleJson) };
    }),
  );
  router.get(
    EFFECTIVE,
    route(webApi.getEffectiveImmutableTagRules, async ({ req, actor, as }) => {
      const params = req.params as Record<string, string>;
      const listed = await unaryCall(client.getEffectiveImmutableTagRules.bind(client), { workspaceSlug: String(params.workspace), packageName: String(params.name) }, as(await actor()));
      return { rules: listed.rules.map(ruleJson) };
    }),
  );
  router.post(
    '/workspaces/:workspace/immutable-tag-rules',
    route(
      webApi.createImmutableTagRule,
      async ({ req, actor, as, body }) => {
        const scope = { workspaceSlug: String(req.params.workspace), level: LEVEL_WORDS[body.level], projectSlug: body.project, sourceRepositoryId: body.sourceRepositoryId, packageName: body.package };
        const { rule } = await unaryCall(client.createImmutableTagRule.bind(client), { scope, pattern: body.pattern }, as(await actor()));
        return { rule: ruleJson(answered(rule, 'rule')) };
      },
      201,
    ),
  );
  router.delete(
    '/workspaces/:workspace/immutable-tag-rules/:id',
    route(webApi.deleteImmutableTagRule, async ({ req, actor, as }) => {
      await unaryCall(client.deleteImmutableTagRule.bind(client), { workspaceSlug: String(req.params.workspace), id: String(req.params.id) }, as(await actor()));
      return {};
    }),
  );
  return router;
}
