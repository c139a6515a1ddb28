import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

interface CatalogueEntry {
  http: number;
  grpc: GrpcStatus;
  message: string;
}

/**
 * The one error catalogue. OCI codes come from the distribution spec; the
 * gateway writes them as {"errors":[{code,message,detail}]}, gRPC services send
 * them as status + metadata so the code survives the hop.
 */
export const ERROR_CATALOGUE = {
  BLOB_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { http: 404, grpc: GrpcStatus.FAILED_PRECONDITION, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, message: 'manifest unknown to registry' },
  NAME_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'invalid repository name' },
  NAME_UNKNOWN: { http: 404, grpc: GrpcStatus.NOT_FOUND, message: 'repository name not known to registry' },
  SIZE_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'provided length did not match content length' },
  // Distribution's code for a bad `n` (or `last`) of a paginated listing.
  PAGINATION_NUMBER_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'invalid number of results requested' },
  RANGE_INVALID: { http: 416, grpc: GrpcStatus.OUT_OF_RANGE, message: 'requested range is not satisfiable' },
  UNAUTHORIZED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, message: 'authentication required' },
  DENIED: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, message: 'too many requests' },
  UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, message: 'service unavailable' },
  // Codes of the admin API, not OCI codes: the gateway writes them on the JSON API, and INVALID_ARGUMENT for text it refuses anywhere.
  INVALID_ARGUMENT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, message: 'invalid argument' },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, message: 'not found' },
  ALREADY_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, message: 'already exists' },
  FAILED_PRECONDITION: { http: 412, grpc: GrpcStatus.FAILED_PRECONDITION, message: 'failed precondition' },
  UNKNOWN: { http: 500, grpc: GrpcStatus.INTERNAL, message: 'unknown error' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

const OCI_CODE_KEY = 'oci-code';
const HTTP_STATUS_KEY = 'oci-http-status';
const DETAIL_KEY = 'oci-detail-bin';

/** Error messages and details stay small, whatever the input: they travel in gRPC trailers and HTTP bodies. */
export const MAX_ERROR_MESSAGE_CHARS = 1024;
export const MAX_ERROR_DETAIL_BYTES = 2048;
/** Longer lists in a detail keep their first entries and say how many there were. */
const LIST_ENTRIES_KEPT = 10;

function boundMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…`;
}

/** A detail that fits MAX_ERROR_DETAIL_BYTES: long lists are cut to their first entries plus a count, anything else too big is dropped. */
export function boundDetail(detail: unknown): unknown {
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');
  if (detail === undefined || size(detail) <= MAX_ERROR_DETAIL_BYTES) return detail;
  if (detail && typeof detail === 'object' && !Array.isArray(detail)) {
    const shortened: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(detail)) {
      if (Array.isArray(value) && value.length > LIST_ENTRIES_KEPT) {
        shortened[key] = value.slice(0, LIST_ENTRIES_KEPT);
        shortened[`${key}Total`] = value.length;
      } else {
        shortened[key] = value;
      }
    }
    if (size(shortened) <= MAX_ERROR_DETAIL_BYTES) return shortened;
  }
  return { truncated: true };
}

export class RegistryError extends Error {
  readonly httpStatus: number;
  readonly grpcStatus: GrpcStatus;
  readonly detail?: unknown;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    detail?: unknown,
    /** Overrides the catalogue's HTTP status where the spec asks for another (e.g. 413). */
    httpStatus?: number,
  ) {
    super(boundMessage(message ?? ERROR_CATALOGUE[code].message));
    this.name = 'RegistryError';
    this.detail = boundDetail(detail);
    this.httpStatus = httpStatus ?? ERROR_CATALOGUE[code].http;
    this.grpcStatus = ERROR_CATALOGUE[code].grpc;
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}

/** The OCI error body the gateway writes. Unknown errors never leak their message. */
export function toOciBody(err: unknown): { status: number; body: { errors: Array<{ code: string; message: string; detail?: unknown }> } } {
  const known = isRegistryError(err) ? err : new RegistryError('UNKNOWN');
  const entry: { code: string; message: string; detail?: unknown } = { code: known.code, message: known.message };
  if (known.detail !== undefined) entry.detail = known.detail;
  return { status: known.httpStatus, body: { errors: [entry] } };
}

/**
 * Seconds a client should wait before trying again (the HTTP Retry-After),
 * when the error says so: a `retryAfterSeconds` in its detail, which
 * survives a gRPC hop like the rest of the detail. Whole seconds, at least 1.
 */
export function retryAfterSeconds(err: unknown): number | undefined {
  if (!isRegistryError(err) || !err.detail || typeof err.detail !== 'object') return undefined;
  const seconds = (err.detail as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.max(1, Math.ceil(seconds)) : undefined;
}

/** Turns any error into a gRPC ServiceError carrying the OCI code in metadata. */
export function toGrpcError(err: unknown): Partial<ServiceError> {
  const known = isRegistryError(err) ? err : new RegistryError('UNKNOWN');
  const metadata = new Metadata();
  metadata.set(OCI_CODE_KEY, known.code);
  metadata.set(HTTP_STATUS_KEY, String(known.httpStatus));
  if (known.detail !== undefined) metadata.set(DETAIL_KEY, Buffer.from(JSON.stringify(known.detail)));
  return { code: known.grpcStatus, details: known.message, message: known.message, metadata };
}

const GRPC_TO_CODE: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHORIZED',
  [GrpcStatus.PERMISSION_DENIED]: 'DENIED',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'TOOMANYREQUESTS',
  [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'UNAVAILABLE',
  [GrpcStatus.UNIMPLEMENTED]: 'UNSUPPORTED',
};

function parseDetail(raw: unknown): unknown {
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Rebuilds the RegistryError a gRPC peer sent; plain transport failures map by status. */
export function fromGrpcError(err: unknown): RegistryError {
  if (isRegistryError(err)) return err;
  const serviceError = err as Partial<ServiceError> | undefined;
  const metadata = serviceError?.metadata;
  const code = metadata?.get(OCI_CODE_KEY)[0];
  if (typeof code === 'string' && code in ERROR_CATALOGUE) {
    const httpStatus = Number(metadata?.get(HTTP_STATUS_KEY)[0]) || undefined;
    return new RegistryError(code as ErrorCode, serviceError?.details, parseDetail(metadata?.get(DETAIL_KEY)[0]), httpStatus);
  }
  const mapped = serviceError?.code !== undefined ? GRPC_TO_CODE[serviceError.code] : undefined;
  return new RegistryError(mapped ?? 'UNKNOWN');
}
