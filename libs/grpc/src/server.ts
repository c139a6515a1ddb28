import { performance } from 'node:perf_hooks';
import {
  experimental,
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type handleClientStreamingCall,
  type handleUnaryCall,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { isRegistryError, RegistryError, toGrpcError } from '@ocireg/errors';
import { isServiceName, type ServiceName, type TlsMaterial } from '@ocireg/service-identity';
import { REQUEST_ID_KEY, requestIdFrom, type Logger } from '@ocireg/logger';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { grpcServerMetrics, type Registry } from '@ocireg/metrics';
import { untilReady } from './readiness';
import { describedAsProtocWould } from './protoc-descriptors';

/** What every handler gets besides its request: the caller's request id and a logger bound to it. */
export interface CallContext {
  requestId: string;
  logger: Logger;
  metadata: Metadata;
  /** Aborted when the caller cancels or the deadline passes. */
  signal: AbortSignal;
  /** The calling service, proven by its client certificate (internal servers only). */
  caller?: ServiceName;
  /** The client's address as the transport saw it (e.g. "ipv4:127.0.0.1:50312"). */
  peer: string;
}

type AsyncHandler<H> = H extends handleUnaryCall<infer Req, infer Res>
  ? (request: Req, ctx: CallContext) => Promise<Res>
  : H extends handleClientStreamingCall<infer Req, infer Res>
    ? (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>
    : never;

/** A ts-proto server interface turned into async functions; the runtime adapts them to grpc-js. */
export type AsyncService<S> = { [K in keyof S as string extends K ? never : K]: AsyncHandler<S[K]> };

/**
 * Which services may call each method (keys are the definition's method
 * names, e.g. "putManifest"); "*" applies to methods not listed. Internal
 * servers refuse every method no entry allows.
 */
export type CallerPolicy = Readonly<Record<string, readonly ServiceName[]>>;

export interface GrpcServiceBinding {
  definition: ServiceDefinition;
  implementation: object;
  /** Required on internal servers. */
  callers?: CallerPolicy;
}

/**
 * internal: mutual TLS with the service's certificate from the internal CA;
 * every call proves which service makes it and is checked against the
 * binding's caller policy. public: users' tools (the gateway's admin port);
 * plaintext or server-only TLS, handlers authenticate the user themselves.
 */
export type ServerSecurity = { kind: 'internal'; tls: TlsMaterial } | { kind: 'public'; tls?: { cert: Buffer; key: Buffer } };

/** Largest gRPC message either way (a manifest is at most a few MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Largest metadata (headers, trailers) accepted; error details are bounded far below it. */
export const MAX_METADATA_BYTES = 16 * 1024;

export interface GrpcServerOptions {
  /** Used in logs and metrics. */
  name: string;
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  /** .proto files of the services, for server reflection. */
  protoFiles: string[];
  protoIncludeDirs: string[];
  security: ServerSecurity;
  /**
   * A plaintext port serving only grpc.health.v1 and reflection, for
   * Kubernetes gRPC probes (which cannot present certificates) and grpcurl.
   */
  healthPort?: number;
  /**
   * What must work before the service takes calls (its database answers):
   * health says NOT_SERVING until it passes once (see untilReady).
   */
  readyWhen?: () => Promise<unknown>;
}

export interface RunningGrpcServer {
  port: number;
  /** The plaintext health port, when one was asked for. */
  healthPort?: number;
  health: HealthImplementation;
  /** Stops accepting calls, lets running ones finish for graceMs, then cuts the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions, services: GrpcServiceBinding[]): Promise<RunningGrpcServer> {
  const channelLimits = { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES, 'grpc.max_metadata_size': MAX_METADATA_BYTES };
  const server = new Server(channelLimits);
  const instruments = grpcServerMetrics(options.metrics);
  const internal = options.security.kind === 'internal';

  const inFlight = { count: 0 };
  for (const binding of services) {
    if (internal && !binding.callers) throw new Error(`${serviceNameOf(binding.definition)} is served internally and needs a caller policy`);
    server.addService(binding.definition, adapt(binding, options.logger, instruments, inFlight, internal));
  }

  const serviceNames = services.map(({ definition }) => serviceNameOf(definition));
  const statusNames = ['', ...serviceNames];
  const health = new HealthImplementation(Object.fromEntries(statusNames.map((name) => [name, options.readyWhen ? 'NOT_SERVING' : 'SERVING'])));
  // Reflection on the service's own port describes its services and health; the plaintext health
  // port describes health alone (internal methods are no business of probes and grpcurl there).
  const descriptors = describedAsProtocWould(loadSync([...options.protoFiles, healthProtoPath], { includeDirs: options.protoIncludeDirs, keepCase: true }));
  const reflection = new ReflectionService(descriptors);
  health.addToServer(server);
  reflection.addToServer(server);

  const port = await bind(server, `${options.host}:${options.port}`, serverCredentials(options.security));
  let healthServer: Server | undefined;
  let healthPort: number | undefined;
  if (options.healthPort !== undefined) {
    healthServer = new Server(channelLimits);
    health.addToServer(healthServer);
    new ReflectionService(describedAsProtocWould(loadSync([healthProtoPath], { keepCase: true }))).addToServer(healthServer);
    healthPort = await bind(healthServer, `${options.host}:${options.healthPort}`, ServerCredentials.createInsecure());
  }
  options.logger.info({ port, healthPort, services: serviceNames, security: options.security.kind }, 'gRPC server listening');
  const readiness = options.readyWhen && untilReady('dependencies answer', options.readyWhen, options.logger, () => {
    for (const name of statusNames) health.setStatus(name, 'SERVING');
  });

  return {
    port,
    healthPort,
    health,
    async shutdown(graceMs = 10_000) {
      readiness?.stop();
      for (const name of statusNames) health.setStatus(name, 'NOT_SERVING');
      // tryShutdown refuses new calls but also waits for idle client connections to go away;
      // once our own calls have drained there is nothing left to wait for.
      await new Promise<void>((resolve) => {
        const deadline = Date.now() + graceMs;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearInterval(poll);
          server.forceShutdown();
          healthServer?.forceShutdown();
          resolve();
        };
        const poll = setInterval(() => {
          if (inFlight.count === 0 || Date.now() > deadline) finish();
        }, 50);
        server.tryShutdown(finish);
      });
    },
  };
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, boundPort) => (err ? reject(err) : resolve(boundPort))));
}

function serverCredentials(security: ServerSecurity): ServerCredentials {
  if (security.kind === 'public') {
    return security.tls ? ServerCredentials.createSsl(null, [{ cert_chain: security.tls.cert, private_key: security.tls.key }], false) : ServerCredentials.createInsecure();
  }
  // Client certificates are required and must chain to the internal CA; renewed files are picked up.
  const provider = certificateProvider(security.tls);
  return experimental.createCertificateProviderServerCredentials(provider, provider, true);
}

/** The service's CA, certificate and key, re-read by grpc-js when they are renewed in place. */
export function certificateProvider(tls: TlsMaterial): experimental.FileWatcherCertificateProvider {
  return new experimental.FileWatcherCertificateProvider({ caCertificateFile: tls.paths.ca, certificateFile: tls.paths.cert, privateKeyFile: tls.paths.key, refreshIntervalMs: 60_000 });
}

/** The service behind a call's client certificate, or undefined (no certificate, or not one of ours). */
function callerOf(call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>): ServiceName | undefined {
  const subject = call.getAuthContext()?.sslPeerCertificate?.subject as { CN?: string | string[] } | undefined;
  const cn = Array.isArray(subject?.CN) ? undefined : subject?.CN;
  return isServiceName(cn) ? cn : undefined;
}

function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  // path is "/package.Service/Method"
  return first ? first.path.split('/')[1]! : 'unknown';
}

type Instruments = ReturnType<typeof grpcServerMetrics>;

/**
 * Wraps each async handler: the caller's identity checked against the policy
 * (internal servers), request id + child logger, errors to gRPC status, metrics.
 */
function adapt(binding: GrpcServiceBinding, logger: Logger, instruments: Instruments, inFlight: { count: number }, internal: boolean): UntypedServiceImplementation {
  const { definition } = binding;
  const implementation = binding.implementation as Record<string, unknown>;
  const adapted: UntypedServiceImplementation = {};
  for (const [methodName, method] of Object.entries(definition)) {
    const allowed = binding.callers?.[methodName] ?? binding.callers?.['*'] ?? [];
    const handler = implementation[methodName];
    if (typeof handler !== 'function') throw new Error(`gRPC method ${method.path} has no implementation`);
    if (method.responseStream) throw new Error(`server streaming is not supported by this runtime yet (${method.path})`);

    const run = async (call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>, input: unknown) => {
      const requestId = requestIdFrom(call.metadata.get(REQUEST_ID_KEY)[0]);
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort(new Error('call cancelled')));
      const caller = internal ? callerOf(call) : undefined;
      const ctx: CallContext = { requestId, logger: logger.child({ requestId, method: method.path, ...(caller ? { caller } : {}) }), metadata: call.metadata, signal: controller.signal, caller, peer: call.getPeer() };
      const started = performance.now();
      inFlight.count += 1;
      try {
        if (internal && !caller) throw new RegistryError('UNAUTHORIZED', 'internal calls need a client certificate of the internal CA');
        if (internal && !allowed.includes(caller!)) throw new RegistryError('DENIED', `service ${caller} may not call ${method.path}`);
        const response = await (handler as (input: unknown, ctx: CallContext) => Promise<unknown>).call(implementation, input, ctx);
        instruments.handled.inc({ method: method.path, code: 'OK' });
        return { response };
      } catch (err) {
        const grpcError = toGrpcError(err);
        instruments.handled.inc({ method: method.path, code: GrpcStatus[grpcError.code ?? GrpcStatus.UNKNOWN] ?? 'UNKNOWN' });
        if (!isRegistryError(err)) ctx.logger.error({ err }, 'unexpected error in gRPC handler');
        return { error: grpcError };
      } finally {
        inFlight.count -= 1;
        instruments.duration.observe({ method: method.path }, (performance.now() - started) / 1000);
      }
    };

    let wrapped: UntypedHandleCall;
    if (method.requestStream) {
      wrapped = ((call: ServerReadableStream<unknown, unknown>, callback: (err: unknown, value?: unknown) => void) => {
        void run(call, call).then(({ response, error }) => (error ? callback(error) : callback(null, response)));
      }) as UntypedHandleCall;
    } else {
      wrapped = ((call: ServerUnaryCall<unknown, unknown>, callback: (err: unknown, value?: unknown) => void) => {
        void run(call, call.request).then(({ response, error }) => (error ? callback(error) : callback(null, response)));
      }) as UntypedHandleCall;
    }
    adapted[methodName] = wrapped;
  }
  return adapted;
}
