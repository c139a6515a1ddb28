import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromGrpcError, RegistryError, retryAfterSeconds, toGrpcError, toOciBody } from './index';

describe('error catalogue', () => {
  it('writes the OCI body with code, message and detail', () => {
    const { status: httpStatus, body } = toOciBody(new RegistryError('BLOB_UNKNOWN', undefined, { digest: 'sha256:x' }));
    expect(httpStatus).toBe(404);
    expect(body).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: 'sha256:x' } }] });
  });

  it('hides the message of unexpected errors', () => {
    const { status: httpStatus, body } = toOciBody(new Error('secret stack detail'));
    expect(httpStatus).toBe(500);
    expect(JSON.stringify(body)).not.toContain('secret');
    expect(body.errors[0]!.code).toBe('UNKNOWN');
  });

  it('survives a gRPC hop with code, message, detail and HTTP override', () => {
    const original = new RegistryError('SIZE_INVALID', 'blob exceeds the 10 byte limit', { limit: 10 }, 413);
    const wire = toGrpcError(original);
    expect(wire.code).toBe(status.INVALID_ARGUMENT);
    const back = fromGrpcError(wire);
    expect(back).toMatchObject({ code: 'SIZE_INVALID', message: 'blob exceeds the 10 byte limit', detail: { limit: 10 }, httpStatus: 413 });
  });

  it('says when to retry from a retryAfterSeconds detail, in whole seconds of at least 1, after a gRPC hop too', () => {
    const busy = new RegistryError('TOOMANYREQUESTS', 'another request is writing', { retryAfterSeconds: 2.2 });
    expect(retryAfterSeconds(busy)).toBe(3);
    expect(retryAfterSeconds(fromGrpcError(toGrpcError(busy)))).toBe(3);
    expect(retryAfterSeconds(new RegistryError('UNAVAILABLE', 'lease lost', { retryAfterSeconds: 0 }))).toBe(1);
    for (const detail of [undefined, { limit: 3 }, { retryAfterSeconds: '5' }, { retryAfterSeconds: -1 }, { retryAfterSeconds: Number.NaN }]) {
      expect(retryAfterSeconds(new RegistryError('TOOMANYREQUESTS', undefined, detail))).toBeUndefined();
    }
    expect(retryAfterSeconds(new Error('plain'))).toBeUndefined();
  });

  it('maps plain transport failures by gRPC status', () => {
    expect(fromGrpcError({ code: status.UNAVAILABLE, details: 'connect ECONNREFUSED' }).code).toBe('UNAVAILABLE');
    expect(fromGrpcError({ code: status.INTERNAL }).code).toBe('UNKNOWN');
  });
});
