import { isIP } from 'node:net';
import { NEITHER_SET } from '@ocireg/access-state';
import { env, loadConfig, z } from '@ocireg/config';
import { blobStoreEnvProblems, blobStoreSettings } from '@ocireg/storage';

export const configSchema = z.object({
  HTTP_HOST: env.host('0.0.0.0'),
  HTTP_PORT: env.port(5000),
  METRICS_HOST: env.host('0.0.0.0'),
  METRICS_PORT: env.port(9100),
  LOG_LEVEL: env.logLevel(),
  /** The gateway's certificate from the internal CA (ca.crt, tls.crt, tls.key), for its calls to the other services. */
  INTERNAL_TLS_DIR: env.absolutePath(),
  /** The admin API for internal teams (AdminService, UserService over gRPC), apart from the internal ports. */
  ADMIN_GRPC_HOST: env.host('0.0.0.0'),
  ADMIN_GRPC_PORT: env.port(50050),
  /** tls.crt and tls.key to serve the admin port over TLS; plaintext when unset (loopback, or TLS ends at a proxy). */
  ADMIN_TLS_DIR: env.absolutePath().optional(),
  /**
   * Addresses (CIDRs) of the proxies in front of the gateway, e.g. the ingress
   * controller's pods: only from them is X-Forwarded-For believed for the
   * client's address (failed-login limits, logs).
   */
  TRUSTED_PROXY_CIDRS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((part) => part.trim()).filter(Boolean))
    .refine((cidrs) => cidrs.every((cidr) => isCidr(cidr)), 'expected comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,fd00::/8'),
  AUTH_ADDR: env.address(),
  METADATA_ADDR: env.address(),
  BLOB_UPLOAD_ADDR: env.address(),
  INDEXER_ADDR: env.address(),
  /** The webhooks service (its admin API, WebhookService, is forwarded from the admin port). */
  WEBHOOKS_ADDR: env.address(),
  /**
   * Where blobs are (STORAGE_BACKEND and its variables). The gateway streams
   * uploads into storage itself, a few parts of UPLOAD_PART_SIZE at a time
   * (blob-upload's value: it checks it against MAX_BLOB_SIZE too).
   */
  ...blobStoreSettings(),
  /** Revocations of API tokens and access changes arrive through Redis when set... */
  REDIS_URL: env.optionalUrl(),
  /** ...else through PostgreSQL LISTEN/NOTIFY (embedded mode); one of the two is required. */
  DATABASE_URL: env.optionalUrl(),
  /** Public base URL (e.g. https://registry.example.com) for the token realm; derived from each request's Host when unset. */
  PUBLIC_URL: env.url().optional(),
  /** The built web UI (index.html and assets/); the repository's web/dist when unset. */
  WEB_UI_DIR: env.absolutePath().optional(),
  /** The `service` of token challenges. */
  TOKEN_SERVICE: z.string().min(1).default('ocireg'),
  /** Same limit as blob-upload's: the gateway cuts an upload request still running at the session's limit. */
  UPLOAD_TIME_LIMIT_SECONDS: env.seconds(7 * 60),
  /** An upload body that sends nothing for this long is cut (slow-loris clients). */
  UPLOAD_IDLE_TIMEOUT_SECONDS: env.seconds(60),
  /**
   * Pulls answer with a redirect to a signed URL of the object store valid
   * this long, when set and the backend signs URLs (s3, azure, gcs; its
   * clients must reach it); 0 streams pulls through the gateway (the default).
   */
  BLOB_REDIRECT_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(0),
  /**
   * Last-pulled times (issue 24): pulls are collected in memory, off the pull
   * path, and sent to metadata this often (and at shutdown). A gateway that
   * dies loses at most this many seconds of them.
   */
  PULL_FLUSH_SECONDS: z.coerce.number().positive().max(3600).default(30),
  /** Largest manifest accepted (the spec suggests registries accept at least 4 MiB). */
  MAX_MANIFEST_SIZE: env.bytes(4 * 1024 * 1024),
  /** Pull-through cache (docs/pull-through.md): an upstream that has not answered within this is unreachable (cached tags are served). */
  UPSTREAM_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(10),
  /** Where a blob being fetched from an upstream is spooled for the clients pulling it meanwhile (its size, while it lasts). */
  UPSTREAM_SPOOL_DIR: env.absolutePath().optional(),
  /** Hosts (host or host:port, comma-separated) upstreams may point at; empty: any host an admin configures. */
  UPSTREAM_ALLOWED_HOSTS: env.list().optional(),
  /**
   * Private, loopback and link-local ranges (CIDRs, comma-separated) upstreams
   * may reach: without them an upstream whose host resolves there (its token
   * realm and redirects too) is refused, so a workspace admin cannot point the
   * gateway at the cluster's own services or a cloud metadata address.
   */
  UPSTREAM_ALLOWED_CIDRS: env.list().optional(),
  /** Replication (docs/replication.md): whether this gateway pushes replication jobs to their targets. */
  REPLICATION_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** How often an idle replication worker asks metadata for due jobs. */
  REPLICATION_POLL_SECONDS: z.coerce.number().positive().max(3600).default(5),
  /** Jobs one gateway pushes at once. */
  REPLICATION_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(4),
  /** A target that has not answered a request within this (after a blob's last byte) fails the attempt; an upload idle this long too. */
  REPLICATION_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(60),
  /**
   * Private, loopback and link-local ranges (CIDRs, comma-separated)
   * replication targets may reach (their token realms and redirects too);
   * without them such a target is refused, as for upstreams.
   */
  REPLICATION_ALLOWED_CIDRS: env.list().optional(),
  /**
   * The transparent mirror: `<registry>=<workspace>/<upstream>` pairs, comma-separated
   * (docker.io=acme/hub). A pull without a prefix that names the registry it
   * mirrors, as containerd's hosts.toml does (`?ns=docker.io`), is served as
   * `<workspace>/<upstream>/<name>`.
   */
  UPSTREAM_MIRRORS: z.string().default('').transform(mirrorPairs('<registry>', 'docker.io=acme/hub')),
  /**
   * The transparent mirror for dockerd (`registry-mirrors`), which sends no
   * `?ns=`: `<host>=<workspace>/<upstream>` pairs, comma-separated
   * (mirror.example.com=acme/hub). Every pull whose Host header is that host
   * (with or without a port when the pair names none) is served as
   * `<workspace>/<upstream>/<name>`; such a host serves pulls only.
   */
  UPSTREAM_MIRROR_HOSTS: z.string().default('').transform(mirrorPairs('<host>', 'mirror.example.com=acme/hub')),
});

/** Parses `<key>=<workspace>/<upstream>` pairs, comma-separated, into a map (keys lower-cased: registries and hosts are). */
function mirrorPairs(key: string, example: string) {
  return (value: string, ctx: z.RefinementCtx): Record<string, string> => {
    const mirrors: Record<string, string> = {};
    for (const pair of value.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9.-]+(?::\d+)?)=([a-z0-9]+(?:-[a-z0-9]+)*\/[a-z0-9]+(?:-[a-z0-9]+)*)$/.exec(pair);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `"${pair.slice(0, 80)}" is not ${key}=<workspace>/<upstream>, e.g. ${example}` });
        return z.NEVER;
      }
      mirrors[match[1]!.toLowerCase()] = match[2]!;
    }
    return mirrors;
  };
}

function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length > 0 || !address || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema.superRefine((c, ctx) => {
      for (const { variable, message } of blobStoreEnvProblems(c)) ctx.addIssue({ code: 'custom', path: [variable], message });
      if (!c.REDIS_URL && !c.DATABASE_URL) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: NEITHER_SET });
    }),
    source,
  );
}
