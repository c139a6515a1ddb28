import path from 'node:path';
import { z } from 'zod';

export { z };

/** Thrown when the environment does not match the schema; names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

/**
 * Validates environment variables once, at start-up. The schema's keys are the
 * variable names, so every message names the variable at fault.
 */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): DeepReadonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const given = issue.path.length ? env[String(issue.path[0])] : undefined;
      const shown = given === undefined ? 'not set' : looksSecret(variable) ? 'set' : JSON.stringify(given);
      return `${variable}: ${issue.message} (${shown})`;
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(parsed.data);
}

function looksSecret(name: string): boolean {
  return /SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL|REDIS_URL/i.test(name);
}

/** Reusable pieces for service schemas. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  host: (fallback = '127.0.0.1') => z.string().min(1).default(fallback),
  url: () => z.string().url(),
  /** A URL that may be unset; empty counts as unset (templates and compose files often render an absent value as ""). */
  optionalUrl: () => z.preprocess((value) => (value === '' ? undefined : value), z.string().url().optional()),
  /** "host:port", as gRPC clients take it. */
  address: () => z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  bytes: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  seconds: (fallback: number) => z.coerce.number().positive().default(fallback),
  list: () => z.string().min(1).transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean)),
  /** An absolute path (e.g. DATA_DIR): relative ones would depend on the directory a service starts in. */
  absolutePath: () => z.string().refine((value) => path.isAbsolute(value), 'expected an absolute path'),
  /** A port that may be unset (empty counts as unset). */
  optionalPort: () => z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(0).max(65535).optional()),
};

/**
 * What every gRPC service reads: where it listens, its mutual-TLS material
 * (INTERNAL_TLS_DIR with ca.crt, tls.crt, tls.key: the service's certificate
 * from the internal CA), the plaintext health port for probes, and where its
 * metrics are served.
 */
export const grpcServiceSettings = (defaults: { grpcPort: number; metricsPort: number }) => ({
  GRPC_HOST: env.host('0.0.0.0'),
  GRPC_PORT: env.port(defaults.grpcPort),
  INTERNAL_TLS_DIR: env.absolutePath(),
  /** grpc.health.v1 and reflection only, without TLS (Kubernetes gRPC probes cannot present a certificate). */
  GRPC_HEALTH_PORT: env.optionalPort(),
  METRICS_HOST: env.host('0.0.0.0'),
  METRICS_PORT: env.port(defaults.metricsPort),
  LOG_LEVEL: env.logLevel(),
});
