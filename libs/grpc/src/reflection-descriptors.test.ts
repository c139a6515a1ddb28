import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FileDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withValidMapEntries } from './reflection-descriptors';

const filesOf = (definition: ReturnType<typeof loadSync>, type: string) =>
  ((definition[type] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos).map((bytes) => FileDescriptorProto.decode(bytes) as IFileDescriptorProto);

describe('withValidMapEntries', () => {
  it('names a map field\'s entry message <Field>Entry and points the field at it, as protoc does', () => {
    const loaded = loadSync([healthProtoPath], { keepCase: true });
    const before = filesOf(loaded, 'grpc.health.v1.HealthListResponse')[0]!.messageType!.find((m) => m.name === 'HealthListResponse')!;
    expect(before.nestedType!.map((n) => n.name)).toEqual(['Statuses']); // protobufjs's name, which Go clients refuse
    const after = filesOf(withValidMapEntries(loaded), 'grpc.health.v1.HealthListResponse')[0]!.messageType!.find((m) => m.name === 'HealthListResponse')!;
    expect(after.nestedType!.map((n) => [n.name, n.options?.mapEntry])).toEqual([['StatusesEntry', true]]);
    expect(after.field!.map((f) => [f.name, f.typeName])).toEqual([['statuses', '.grpc.health.v1.HealthListResponse.StatusesEntry']]);
  });

  it('leaves files without map fields byte for byte as they were', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ocireg-proto-')), 'plain.proto');
    writeFileSync(file, 'syntax = "proto3";\npackage plain.v1;\nmessage Plain { string name = 1; repeated int32 sizes = 2; }\n');
    const loaded = loadSync([file], { keepCase: true });
    const type = 'plain.v1.Plain';
    const original = (loaded[type] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos;
    const fixed = (withValidMapEntries(loaded)[type] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos;
    expect(fixed.map((b) => b.toString('hex'))).toEqual(original.map((b) => b.toString('hex')));
  });
});
