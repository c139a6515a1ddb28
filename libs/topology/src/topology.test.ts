import * as proto from '@ocireg/proto';
import { describe, expect, it } from 'vitest';
import { addressVariable, callees, callersOf, grpcServiceName, INTERNAL_SERVICES, type GrpcDefinition } from './call-graph';
import { SERVICE_NAMES, serviceSpec, type ServiceName } from './topology';

/** Every gRPC service definition the proto library generates, by full name. */
function protoDefinitions(): Map<string, GrpcDefinition> {
  const definitions = new Map<string, GrpcDefinition>();
  for (const namespace of Object.values(proto)) {
    if (typeof namespace !== 'object' || namespace === null) continue;
    for (const [exported, value] of Object.entries(namespace)) {
      if (!exported.endsWith('Service') || typeof value !== 'object' || value === null) continue;
      const methods = Object.values(value as Record<string, unknown>);
      if (methods.length > 0 && methods.every((m) => typeof (m as { path?: unknown }).path === 'string')) definitions.set(grpcServiceName(value as GrpcDefinition), value as GrpcDefinition);
    }
  }
  return definitions;
}

describe('the topology', () => {
  it('gives every internal gRPC service a proto definition, and names only methods it has', () => {
    const definitions = protoDefinitions();
    expect(definitions.size).toBeGreaterThan(5);
    for (const service of INTERNAL_SERVICES) {
      for (const name of Object.keys(serviceSpec(service).grpc ?? {})) {
        const definition = definitions.get(name);
        expect(definition, `${service} serves ${name}, which proto/ does not define`).toBeDefined();
        expect(() => callersOf(service, definition!)).not.toThrow();
      }
    }
  });

  it('has calls that point one way (no cycle), and metadata calls no service', () => {
    const visiting = new Set<ServiceName>();
    const done = new Set<ServiceName>();
    const visit = (service: ServiceName, path: ServiceName[]): void => {
      if (done.has(service)) return;
      if (visiting.has(service)) throw new Error(`a call cycle: ${[...path, service].join(' -> ')}`);
      visiting.add(service);
      for (const callee of callees(service)) visit(callee, [...path, service]);
      visiting.delete(service);
      done.add(service);
    };
    for (const service of SERVICE_NAMES) visit(service, []);
    expect(callees('metadata')).toEqual([]);
    // The graph is derived from the caller policies: the gateway calls every internal service.
    expect(callees('gateway')).toEqual(INTERNAL_SERVICES);
  });

  it('refuses to serve a gRPC service the table does not give the service, or a policy naming a method the definition lacks', () => {
    expect(() => callersOf('indexer', proto.metadata.RegistryMetadataServiceService)).toThrow(/does not give indexer the gRPC service ocireg.metadata.v1.RegistryMetadataService/);
    const { resolveRole: _, ...withoutResolveRole } = proto.metadata.RegistryMetadataServiceService;
    expect(() => callersOf('metadata', withoutResolveRole)).toThrow(/names methods ocireg.metadata.v1.RegistryMetadataService does not have: resolveRole/);
  });

  it('names the variable a service address is given in after the service', () => {
    expect(INTERNAL_SERVICES.map(addressVariable)).toEqual(['AUTH_ADDR', 'METADATA_ADDR', 'BLOB_UPLOAD_ADDR', 'INDEXER_ADDR', 'WEBHOOKS_ADDR']);
  });
});
