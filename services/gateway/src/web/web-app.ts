import type { IncomingMessage } from 'node:http';
import express, { Router, type Express } from 'express';
import helmet from 'helmet';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import type { BlobStore } from '@ocireg/storage';
import type { AccessGuard } from '../access-guard';
import type { AdminCallers } from '../admin/admin-callers';
import { ImageListings } from '../admin/image-listings';
import { UserResolver } from '../admin/users-by-email';
import type { ServiceClients } from '../clients';
import { jsonErrors } from './api-errors';
import { auditRoutes } from './routes/audit-routes';
import { webhookRoutes } from './routes/webhook-routes';
import { ImageConfigs } from './image-configs';
import { memberRoutes } from './routes/member-routes';
import { upstreamRoutes } from './routes/upstream-routes';
import { replicationRoutes } from './routes/replication-routes';
import { restoreRoutes } from './routes/restore-routes';
import { retentionRoutes } from './routes/retention-routes';
import { immutableTagRoutes } from './routes/immutable-tag-routes';
import { oidcRoutes } from './routes/oidc-routes';
import { packageRoutes } from './routes/package-routes';
import { sessionRoutes } from './routes/session-routes';
import { statusRoutes } from './routes/status-routes';
import { repositoryTokenRoutes } from './routes/repository-token-routes';
import { serviceAccountRoutes } from './routes/service-account-routes';
import { tokenRoutes } from './routes/token-routes';
import { trustedIssuerRoutes } from './routes/trusted-issuer-routes';
import { workspaceRoutes } from './routes/workspace-routes';
import { componentStatus, indexingStatus } from './service-status';
import { SessionCookies } from './session-cookie';
import { staticUi } from './static-ui';
import { WebCallers } from './web-callers';

export interface WebAppDeps {
  clients: ServiceClients;
  callers: AdminCallers;
  guard: AccessGuard;
  store: BlobStore;
  logger: Logger;
  /** The Bearer challenge of a 401 (the token endpoint's realm). */
  challenge: (req: IncomingMessage) => string;
  publicUrl?: string;
  trustedProxies: readonly string[];
  /** The built web UI (web/dist). */
  uiDir?: string;
}

/**
 * Everything the gateway serves to browsers, on express beside the node:http
 * /v2 handler: the JSON API under /api/v1 and the web UI at /, with a strict
 * Content-Security-Policy (our own scripts and styles only, nothing inline, no
 * framing) and the usual hardening headers.
 */
export function createWebApp(deps: WebAppDeps): Express {
  const { clients, callers, guard, store, logger } = deps;
  const cookies = new SessionCookies({ publicUrl: deps.publicUrl, trustedProxies: deps.trustedProxies });
  const web = new WebCallers({ callers, guard, cookies, challenge: deps.challenge });
  const listings = new ImageListings(clients.indexer, clients.metadata);
  const configs = new ImageConfigs({ metadata: clients.metadata, store });
  const people = new UserResolver(clients.auth);

  const app = express();
  app.disable('x-powered-by');
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: deps.publicUrl?.startsWith('https:') ? { maxAge: 15_552_000 } : false,
    }),
  );

  const api = Router();
  api.use(express.json({ limit: '64kb' }));
  api.use(sessionRoutes({ auth: clients.auth, callers, web, cookies, guard, logger }));
  api.use(oidcRoutes({ auth: clients.auth, web, cookies, guard, logger }));
  api.use(workspaceRoutes({ admin: clients.admin, web, logger }));
  const indexing = indexingStatus(clients.indexer);
  const components = componentStatus({ auth: clients.auth, metadata: clients.metadata, 'blob-upload': clients.uploads, indexer: clients.indexer });
  api.use(packageRoutes({ admin: clients.admin, indexer: clients.indexer, indexing, metadata: clients.metadata, listings, configs, web, logger }));
  api.use(statusRoutes({ indexing, components, web, logger }));
  api.use(memberRoutes({ admin: clients.admin, people, web, logger }));
  api.use(tokenRoutes({ users: clients.users, cookies, web, logger }));
  api.use(upstreamRoutes({ upstreams: clients.upstreams, web, logger }));
  api.use(replicationRoutes({ replication: clients.replication, web, logger }));
  api.use(retentionRoutes({ retention: clients.retention, web, logger }));
  api.use(repositoryTokenRoutes({ users: clients.users, people, cookies, web, logger }));
  api.use(serviceAccountRoutes({ users: clients.users, cookies, web, logger }));
  api.use(trustedIssuerRoutes({ users: clients.users, web, logger }));
  api.use(auditRoutes({ audit: clients.audit, people, web, logger }));
  api.use(webhookRoutes({ webhooks: clients.webhooks, web, logger }));
  api.use(restoreRoutes({ admin: clients.admin, people, web, logger }));
  api.use(immutableTagRoutes({ immutableTags: clients.immutableTags, web, logger }));
  api.use((req, _res, next) => next(new RegistryError('NOT_FOUND', `no such endpoint: ${req.method} /api/v1${req.path.slice(0, 200)}`)));
  app.use('/api/v1', api);
  app.use('/api', (req, _res, next) => next(new RegistryError('NOT_FOUND', `no such endpoint: ${req.method} ${req.originalUrl.split('?')[0]!.slice(0, 200)}`)));
  app.use((req, _res, next) => (req.method === 'GET' || req.method === 'HEAD' ? next() : next(new RegistryError('UNSUPPORTED', `method ${req.method} is not supported here`))));
  app.use(staticUi(deps.uiDir));
  app.use(jsonErrors(logger));
  return app;
}
