import type { PackageDefinition } from '@grpc/proto-loader';
import { FileDescriptorProto, type IDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';

/**
 * The descriptors reflection serves, as protoc would write them; protobufjs
 * (behind @grpc/proto-loader) differs in two ways that Go clients (grpcurl,
 * the kubelet's tooling) notice:
 * - it names the message it makes for a map field after the field
 *   ("Statuses" for `map<...> statuses`), where protobuf's rule is
 *   "<FieldInCamelCase>Entry" ("StatusesEntry"): Go refuses the descriptor
 *   as "an invalid map". Renamed here, references included.
 * - it leaves every field's json_name empty, so JSON clients print
 *   `source_repository` where protobuf's JSON is `sourceRepository`. Filled
 *   in here with protoc's lowerCamelCase.
 */
export function describedAsProtocWould(definition: PackageDefinition): PackageDefinition {
  const fixed: PackageDefinition = {};
  for (const [name, entry] of Object.entries(definition)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    fixed[name] = Array.isArray(protos) ? ({ ...entry, fileDescriptorProtos: protos.map(fixFile) } as typeof entry) : entry;
  }
  return fixed;
}

function fixFile(encoded: Buffer): Buffer {
  const file = FileDescriptorProto.decode(encoded) as IFileDescriptorProto;
  let changed = false;
  /** `scope` is the enclosing fully qualified name with its leading dot (".pkg.Outer"), or "" outside any package. */
  const visit = (message: IDescriptorProto, scope: string) => {
    const fullName = `${scope}.${message.name}`;
    for (const nested of message.nestedType ?? []) {
      if (!nested.options?.mapEntry) continue;
      const field = (message.field ?? []).find((f) => f.typeName === nested.name || f.typeName === `${fullName}.${nested.name}` || f.typeName === `${fullName.slice(1)}.${nested.name}`);
      if (!field?.name) continue;
      const entryName = `${camel(field.name)}Entry`;
      if (nested.name === entryName) continue;
      // Fully qualified, so the reference stays right whatever the old one's form was.
      field.typeName = `${fullName}.${entryName}`;
      nested.name = entryName;
      changed = true;
    }
    for (const field of message.field ?? []) {
      if (field.name && !field.jsonName) {
        field.jsonName = lowerCamel(field.name);
        changed = true;
      }
    }
    for (const nested of message.nestedType ?? []) visit(nested, fullName);
  };
  const pkg = file.package ? `.${file.package}` : '';
  for (const message of file.messageType ?? []) visit(message, pkg);
  return changed ? Buffer.from(FileDescriptorProto.encode(file).finish()) : encoded;
}

/** protoc's camel-casing of a field name for a map entry's message: "last_seen" -> "LastSeen". */
function camel(fieldName: string): string {
  return fieldName.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** protoc's json_name: "source_repository" -> "sourceRepository". */
function lowerCamel(fieldName: string): string {
  return fieldName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
