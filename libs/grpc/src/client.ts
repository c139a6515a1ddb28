import {
  ChannelCredentials,
  experimental,
  Metadata,
  type CallOptions,
  type ChannelOptions,
  type ClientUnaryCall,
  type ClientWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromGrpcError } from '@ocireg/errors';
import { REQUEST_ID_KEY } from '@ocireg/logger';
import type { ServiceName, TlsMaterial } from '@ocireg/service-identity';
import { setRequestOrigin, type RequestOrigin } from './request-origin';
import { certificateProvider, MAX_MESSAGE_BYTES, MAX_METADATA_BYTES } from './server';

export interface ClientCallOptions {
  requestId?: string;
  /** Milliseconds until the call fails with DEADLINE_EXCEEDED. */
  deadlineMs?: number;
  /** Sent as the `authorization` metadata, e.g. "Bearer <API token>". */
  authorization?: string;
  /** Who the call acts for and where the request came from (recorded in events and the audit log). */
  origin?: RequestOrigin;
}

const DEFAULT_DEADLINE_MS = 10_000;

/**
 * Channel options for every client: calls that never reached the server
 * (UNAVAILABLE) are retried for about 1.5 s, and a channel whose server went
 * away tries to reconnect at least once a second, so a restarted service is
 * found again within the retries (grpc-js backs off up to 2 minutes by
 * default, failing calls meanwhile); keepalive.
 */
export function clientChannelOptions(): ChannelOptions {
  return {
    'grpc.enable_retries': 1,
    'grpc.service_config': JSON.stringify({
      methodConfig: [
        {
          name: [{}],
          retryPolicy: { maxAttempts: 5, initialBackoff: '0.1s', maxBackoff: '1s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
        },
      ],
    }),
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1_000,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_metadata_size': MAX_METADATA_BYTES,
  };
}

type ClientConstructor<C> = new (address: string, credentials: ChannelCredentials, options?: ChannelOptions) => C;

/**
 * internal: this service's certificate as the client identity, and the server
 * must present the certificate of `service` (checked by its subject CN, not by
 * host name, so any address works). public: a user's tool calling the
 * gateway's admin port, plaintext or TLS (system CAs, or `ca`).
 */
export type ClientSecurity = { kind: 'internal'; tls: TlsMaterial; service: ServiceName } | { kind: 'public'; tls?: boolean; ca?: Buffer };

export function createGrpcClient<C>(Client: ClientConstructor<C>, address: string, security: ClientSecurity): C {
  if (security.kind === 'public') {
    const credentials = security.tls || security.ca ? ChannelCredentials.createSsl(security.ca ?? null) : ChannelCredentials.createInsecure();
    return new Client(address, credentials, clientChannelOptions());
  }
  const expected = security.service;
  const provider = certificateProvider(security.tls);
  const credentials = experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: (_host, cert) => (cert.subject?.CN === expected ? undefined : new Error(`expected the ${expected} service, the server's certificate names ${String(cert.subject?.CN)}`)),
  });
  // The name sent for SNI: a service name, never an IP address.
  return new Client(address, credentials, { ...clientChannelOptions(), 'grpc.ssl_target_name_override': expected, 'grpc.default_authority': expected });
}

function callArgs(options: ClientCallOptions): [Metadata, Partial<CallOptions>] {
  const metadata = new Metadata();
  if (options.requestId) metadata.set(REQUEST_ID_KEY, options.requestId);
  if (options.authorization) metadata.set('authorization', options.authorization);
  if (options.origin) setRequestOrigin(metadata, options.origin);
  return [metadata, { deadline: Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS) }];
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Promise form of a unary call, with a deadline and the request id; errors come back as RegistryError. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: ClientCallOptions = {}): Promise<Res> {
  const [metadata, callOptions] = callArgs(options);
  return new Promise<Res>((resolve, reject) => {
    method(request, metadata, callOptions, (error, response) => (error ? reject(fromGrpcError(error)) : resolve(response)));
  });
}

type ClientStreamMethod<Req, Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientWritableStream<Req>;

/** Opens a client-streaming call; write to `stream` (respecting backpressure), then await `response`. */
export function clientStreamCall<Req, Res>(method: ClientStreamMethod<Req, Res>, options: ClientCallOptions = {}): { stream: ClientWritableStream<Req>; response: Promise<Res> } {
  const [metadata, callOptions] = callArgs(options);
  let stream!: ClientWritableStream<Req>;
  const response = new Promise<Res>((resolve, reject) => {
    stream = method(metadata, callOptions, (error, value) => (error ? reject(fromGrpcError(error)) : resolve(value)));
  });
  return { stream, response };
}
