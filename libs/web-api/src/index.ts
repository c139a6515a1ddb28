// The JSON API (/api/v1), defined once: per route, the zod schemas of its
// request and its answer. The gateway validates with them and builds its
// answers as their types; the web UI imports the types only (`import type`).
import type { z } from 'zod';
import { auditApi } from './audit-api';
import { immutableTagApi, type immutableTagRule } from './immutable-tag-api';
import { memberApi } from './member-api';
import { packageApi } from './package-api';
import { repositoryToken, repositoryTokenApi } from './repository-token-api';
import type { BodyInput, QueryInput, ResponseOf, RouteSchema } from './route-schema';
import { serviceAccount, serviceAccountApi } from './service-account-api';
import { sessionApi } from './session-api';
import type * as shapes from './shapes';
import { statusApi } from './status-api';
import { tokenApi } from './token-api';
import { upstreamApi, type upstream } from './upstream-api';
import { replicationApi, type replicationJob, type replicationTarget } from './replication-api';
import { retentionApi, type retentionPreview, type retentionRule } from './retention-api';
import { trustedIssuer, trustedIssuerApi } from './trusted-issuer-api';
import { restoreApi, type deletion } from './restore-api';
import { webhookApi, type webhook, type webhookDelivery } from './webhook-api';
import { workspaceApi } from './workspace-api';

export type { BodyInput, BodyOf, Exactly, QueryInput, QueryOf, ResponseOf, RouteSchema } from './route-schema';
export type { Manifest } from './shapes';

/** Every route, by name (the README's table says their methods and paths). */
export const webApi = {
  ...sessionApi,
  ...workspaceApi,
  ...packageApi,
  ...statusApi,
  ...memberApi,
  ...tokenApi,
  ...repositoryTokenApi,
  ...serviceAccountApi,
  ...trustedIssuerApi,
  ...upstreamApi,
  ...replicationApi,
  ...retentionApi,
  ...auditApi,
  ...webhookApi,
  ...restoreApi,
  ...immutableTagApi,
} satisfies Record<string, RouteSchema>;

export type WebApi = typeof webApi;
export type RouteName = keyof WebApi;
/** What the named route answers. */
export type ApiResponse<K extends RouteName> = ResponseOf<WebApi[K]>;
/** What a client sends as the named route's JSON body. */
export type ApiBody<K extends RouteName> = BodyInput<WebApi[K]>;
/** The named route's query parameters, as a client may send them. */
export type ApiQuery<K extends RouteName> = QueryInput<WebApi[K]>;

export type RoleWord = z.infer<typeof shapes.roleWord>;
export type Workspace = z.infer<typeof shapes.workspace>;
export type Project = z.infer<typeof shapes.project>;
export type SourceRepository = z.infer<typeof shapes.sourceRepository>;
export type ImageSummary = z.infer<typeof shapes.imageSummary>;
export type ListedImage = ApiResponse<'listImages'>['images'][number];
export type IndexingStatus = z.infer<typeof shapes.indexingStatus>;
export type ComponentState = z.infer<typeof shapes.componentState>;
export type Platform = z.infer<typeof shapes.platform>;
export type TagDetails = z.infer<typeof shapes.tagDetails>;
export type TagEntry = ApiResponse<'listTags'>['tags'][number];
export type ConfigFacts = z.infer<typeof shapes.configFacts>;
export type ApiToken = z.infer<typeof shapes.apiToken>;
export type Member = z.infer<typeof shapes.member>;
export type Upstream = z.infer<typeof upstream>;
export type ReplicationTarget = z.infer<typeof replicationTarget>;
export type ReplicationJob = z.infer<typeof replicationJob>;
export type RetentionRule = z.infer<typeof retentionRule>;
export type RetentionPreview = z.infer<typeof retentionPreview>;
export type RepositoryToken = z.infer<typeof repositoryToken>;
export type ServiceAccount = z.infer<typeof serviceAccount>;
export type TrustedIssuer = z.infer<typeof trustedIssuer>;
export type AuditEntry = z.infer<typeof shapes.auditEntry>;
export type Webhook = z.infer<typeof webhook>;
export type WebhookDelivery = z.infer<typeof webhookDelivery>;
export type Deletion = z.infer<typeof deletion>;
export type ImmutableTagRule = z.infer<typeof immutableTagRule>;
export { IMMUTABLE_RULE_LEVELS } from './immutable-tag-api';
