import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { retention } from '@ocireg/proto';
import { webApi } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import { answered } from '../api-shapes';
import type { WebCallers } from '../web-callers';

const ruleJson = (r: retention.RetentionRule) => ({
  id: r.id,
  level: r.level,
  scopeName: r.scopeName,
  kind: r.kind,
  pattern: r.pattern,
  count: r.count,
  days: r.days,
  description: r.description,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  optedOutAt: r.optedOutAt,
});

const previewJson = (p: retention.RetentionPackagePreview) => ({
  packageName: p.packageName,
  evaluatedAt: p.evaluatedAt,
  tags: p.tags.map((t) => ({ name: t.name, digest: t.digest, updatedAt: t.updatedAt, delete: t.delete, keptBy: t.keptBy, why: t.why })),
  tagsTotal: p.tagsTotal,
  deleteTagsTotal: p.deleteTagsTotal,
  deleteManifests: p.deleteManifests.map((m) => ({ digest: m.digest, size: m.size, why: m.why })),
  deleteManifestsTotal: p.deleteManifestsTotal,
  bytes: p.bytes,
  needsConfirmation: p.needsConfirmation,
});

/**
 * Retention rules of a package and its levels, the preview (dry run) and the
 * apply: RetentionService forwarded to metadata with the caller's assertion,
 * which checks who may read and who may change (docs/lifecycle-retention.md).
 */
export function retentionRoutes(deps: { retention: retention.RetentionServiceClient; web: WebCallers; logger: Logger }): Router {
  const { retention: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const packageScope = (workspaceSlug: string, packageName: string) => ({ level: 'package', workspaceSlug, projectSlug: '', sourceRepositoryId: '', packageName });

  router.get(
    '/workspaces/:workspace/retention',
    route(webApi.getPackageRetention, async ({ req, actor, as, query }) => {
      const answer = await unaryCall(client.getEffectiveRetentionRules.bind(client), { workspaceSlug: String(req.params.workspace), packageName: query.package }, as(await actor()));
      return { rules: answer.rules.map(ruleJson) };
    }),
  );
  router.post(
    '/workspaces/:workspace/retention/rules',
    route(
      webApi.createRetentionRule,
      async ({ req, actor, as, body }) => {
        const scope = { level: body.level, workspaceSlug: String(req.params.workspace), projectSlug: body.project, sourceRepositoryId: body.sourceRepositoryId, packageName: body.package };
        const { rule } = await unaryCall(client.createRetentionRule.bind(client), { scope, kind: body.kind, pattern: body.pattern, count: body.count, days: body.days }, as(await actor()));
        return { rule: ruleJson(answered(rule, 'rule')) };
      },
      201,
    ),
  );
  router.delete(
    '/workspaces/:workspace/retention/rules/:id',
    route(webApi.deleteRetentionRule, async ({ req, actor, as }) => {
      await unaryCall(client.deleteRetentionRule.bind(client), { workspaceSlug: String(req.params.workspace), ruleId: String(req.params.id) }, as(await actor()));
      return {};
    }),
  );
  router.post(
    '/workspaces/:workspace/retention/preview',
    route(webApi.previewRetention, async ({ req, actor, as, body }) => {
      const answer = await unaryCall(client.previewRetention.bind(client), { scope: packageScope(String(req.params.workspace), body.package) }, as(await actor()));
      return { preview: previewJson(answered(answer.packages[0], 'preview')) };
    }),
  );
  router.post(
    '/workspaces/:workspace/retention/apply',
    route(webApi.applyRetention, async ({ req, actor, as, body }) => {
      const answer = await unaryCall(client.applyRetention.bind(client), { workspaceSlug: String(req.params.workspace), packageName: body.package, confirm: body.confirm }, as(await actor()));
      return { deletedTags: answer.deletedTags, deletedManifests: answer.deletedManifests, skipped: answer.skipped.map((s) => ({ kind: s.kind, name: s.name, why: s.why })) };
    }),
  );
  return router;
}
