import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startGrpcServer, type CallContext, type RunningGrpcServer } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { Registry } from '@ocireg/metrics';
import { admin, audit, immutableTags, PROTO_DIR, PROTO_FILES, replication, retention, upstreams, users, webhooks } from '@ocireg/proto';
import type { ServiceClients } from '../clients';
import { checkTextFields } from '../text-input';
import type { AdminCallers } from './admin-callers';
import { adminApi } from './admin-api';

/** Starts the admin port: AdminService, UserService, UpstreamService, ReplicationService, AuditService and WebhookService for users' tools (registryctl), with health and reflection. */
export function startAdminServer(options: {
  host: string;
  port: number;
  /** tls.crt and tls.key to serve TLS; plaintext without. */
  tlsDir?: string;
  clients: ServiceClients;
  callers: AdminCallers;
  logger: Logger;
  metrics: Registry;
  /** The registry's public address, for the links the admin API hands out. */
  publicUrl?: string;
}): Promise<RunningGrpcServer> {
  const api = adminApi(options.clients, options.callers, options.publicUrl);
  const tls = options.tlsDir ? { cert: readFileSync(path.join(options.tlsDir, 'tls.crt')), key: readFileSync(path.join(options.tlsDir, 'tls.key')) } : undefined;
  return startGrpcServer(
    {
      name: 'gateway-admin',
      host: options.host,
      port: options.port,
      security: { kind: 'public', tls },
      logger: options.logger,
      metrics: options.metrics,
      protoFiles: [PROTO_FILES.admin, PROTO_FILES.users, PROTO_FILES.upstreams, PROTO_FILES.replication, PROTO_FILES.audit, PROTO_FILES.webhooks, PROTO_FILES.retention, PROTO_FILES.immutableTags],
      protoIncludeDirs: [PROTO_DIR],
    },
    [
      { definition: admin.AdminServiceService, implementation: textChecked(api.admin) },
      { definition: users.UserServiceService, implementation: textChecked(api.users) },
      { definition: upstreams.UpstreamServiceService, implementation: textChecked(api.upstreams) },
      { definition: replication.ReplicationServiceService, implementation: textChecked(api.replication) },
      { definition: retention.RetentionServiceService, implementation: textChecked(api.retention) },
      { definition: audit.AuditServiceService, implementation: textChecked(api.audit) },
      { definition: immutableTags.ImmutableTagServiceService, implementation: textChecked(api.immutableTags) },
      { definition: webhooks.WebhookServiceService, implementation: textChecked(api.webhooks) },
    ],
  );
}

type Handler = (request: unknown, ctx: CallContext) => Promise<unknown>;

/** Every method's request has its strings checked (text-input.ts) before the method sees it: one walk of the decoded message. */
function textChecked<S extends object>(service: S): S {
  const checked = Object.entries(service as Record<string, Handler>).map(([method, handler]) => [
    method,
    async (request: unknown, ctx: CallContext) => {
      checkTextFields(request);
      return handler(request, ctx);
    },
  ]);
  return Object.fromEntries(checked) as S;
}
