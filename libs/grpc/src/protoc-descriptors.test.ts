import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FileDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describedAsProtocWould } from './protoc-descriptors';

const filesOf = (definition: ReturnType<typeof loadSync>, type: string) =>
  ((definition[type] as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos).map((bytes) => FileDescriptorProto.decode(bytes) as IFileDescriptorProto);

describe('describedAsProtocWould', () => {
  it('names a map field\'s entry message <Field>Entry and points the field at it, as protoc does', () => {
    const loaded = loadSync([healthProtoPath], { keepCase: true });
    const before = filesOf(loaded, 'grpc.health.v1.HealthListResponse')[0]!.messageType!.find((m) => m.name === 'HealthListResponse')!;
    expect(before.nestedType!.map((n) => n.name)).toEqual(['Statuses']); // protobufjs's name, which Go clients refuse
    const after = filesOf(describedAsProtocWould(loaded), 'grpc.health.v1.HealthListResponse')[0]!.messageType!.find((m) => m.name === 'HealthListResponse')!;
    expect(after.nestedType!.map((n) => [n.name, n.options?.mapEntry])).toEqual([['StatusesEntry', true]]);
    expect(after.field!.map((f) => [f.name, f.typeName])).toEqual([['statuses', '.grpc.health.v1.HealthListResponse.StatusesEntry']]);
  });

  it('gives every field the json_name protoc would, and leaves the rest of a file as it was', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ocireg-proto-')), 'plain.proto');
    writeFileSync(file, 'syntax = "proto3";\npackage plain.v1;\nmessage Plain { string source_repository_id = 1; repeated int32 sizes = 2; }\n');
    const loaded = loadSync([file], { keepCase: true });
    const before = filesOf(loaded, 'plain.v1.Plain')[0]!;
    const after = filesOf(describedAsProtocWould(loaded), 'plain.v1.Plain')[0]!;
    expect(after.messageType![0]!.field!.map((f) => [f.name, f.jsonName])).toEqual([['source_repository_id', 'sourceRepositoryId'], ['sizes', 'sizes']]);
    // Nothing else changed: without the json names, the files are equal.
    for (const field of [...after.messageType![0]!.field!, ...before.messageType![0]!.field!]) delete field.jsonName;
    expect(FileDescriptorProto.encode(after).finish()).toEqual(FileDescriptorProto.encode(before).finish());
  });
});
