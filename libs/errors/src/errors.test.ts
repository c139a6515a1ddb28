import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromGrpcError, RegistryError, toGrpcError, toOciBody } from './index';

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

  it('maps plain transport failures by gRPC status', () => {
    expect(fromGrpcError({ code: status.UNAVAILABLE, details: 'connect ECONNREFUSED' }).code).toBe('UNAVAILABLE');
    expect(fromGrpcError({ code: status.INTERNAL }).code).toBe('UNKNOWN');
  });
});
