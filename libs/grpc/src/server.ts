import { performance } from 'node:perf_hooks';
import {
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
import { isRegistryError, toGrpcError } from '@ocireg/errors';
import { REQUEST_ID_KEY, requestIdFrom, type Logger } from '@ocireg/logger';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { grpcServerMetrics, type Registry } from '@ocireg/metrics';

/** What every handler gets besides its request: the caller's request id and a logger bound to it. */
export interface CallContext {
  requestId: string;
  logger: Logger;
  metadata: Metadata;
  /** Aborted when the caller cancels or the deadline passes. */
  signal: AbortSignal;
}

type AsyncHandler<H> = H extends handleUnaryCall<infer Req, infer Res>
  ? (request: Req, ctx: CallContext) => Promise<Res>
  : H extends handleClientStreamingCall<infer Req, infer Res>
    ? (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>
    : never;

/** A ts-proto server interface turned into async functions; the runtime adapts them to grpc-js. */
export type AsyncService<S> = { [K in keyof S as string extends K ? never : K]: AsyncHandler<S[K]> };

export interface GrpcServiceBinding {
  definition: ServiceDefinition;
  implementation: object;
}

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
}

export interface RunningGrpcServer {
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls, lets running ones finish for graceMs, then cuts the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(options: GrpcServerOptions, services: GrpcServiceBinding[]): Promise<RunningGrpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  const instruments = grpcServerMetrics(options.metrics);

  const inFlight = { count: 0 };
  for (const { definition, implementation } of services) {
    server.addService(definition, adapt(definition, implementation as Record<string, unknown>, options.logger, instruments, inFlight));
  }

  const serviceNames = services.map(({ definition }) => serviceNameOf(definition));
  const health = new HealthImplementation(Object.fromEntries(['', ...serviceNames].map((name) => [name, 'SERVING'])));
  health.addToServer(server);

  // Reflection describes our services and the health service, so grpcurl sees both.
  const packageDefinition = loadSync([...options.protoFiles, healthProtoPath], { includeDirs: options.protoIncludeDirs, keepCase: true });
  new ReflectionService(packageDefinition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, boundPort) => (err ? reject(err) : resolve(boundPort))),
  );
  options.logger.info({ port, services: serviceNames }, 'gRPC server listening');

  return {
    port,
    health,
    async shutdown(graceMs = 10_000) {
      for (const name of ['', ...serviceNames]) health.setStatus(name, 'NOT_SERVING');
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

function serviceNameOf(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  // path is "/package.Service/Method"
  return first ? first.path.split('/')[1]! : 'unknown';
}

type Instruments = ReturnType<typeof grpcServerMetrics>;

/** Wraps each async handler: request id + child logger, errors to gRPC status, metrics. */
function adapt(definition: ServiceDefinition, implementation: Record<string, unknown>, logger: Logger, instruments: Instruments, inFlight: { count: number }): UntypedServiceImplementation {
  const adapted: UntypedServiceImplementation = {};
  for (const [methodName, method] of Object.entries(definition)) {
    const handler = implementation[methodName];
    if (typeof handler !== 'function') throw new Error(`gRPC method ${method.path} has no implementation`);
    if (method.responseStream) throw new Error(`server streaming is not supported by this runtime yet (${method.path})`);

    const run = async (call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>, input: unknown) => {
      const requestId = requestIdFrom(call.metadata.get(REQUEST_ID_KEY)[0]);
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort(new Error('call cancelled')));
      const ctx: CallContext = { requestId, logger: logger.child({ requestId, method: method.path }), metadata: call.metadata, signal: controller.signal };
      const started = performance.now();
      inFlight.count += 1;
      try {
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
