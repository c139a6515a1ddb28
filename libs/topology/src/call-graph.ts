import { SERVICE_NAMES, serviceSpec as spec, type CallerTable, type InternalServiceName, type ServiceName } from './topology';

/** A ts-proto (grpc-js) service definition, as far as this needs it: each method's "/package.Service/Method" path. */
export type GrpcDefinition = Readonly<Record<string, { readonly path: string }>>;

/** The services that serve internal gRPC, in table order. */
export const INTERNAL_SERVICES: readonly InternalServiceName[] = SERVICE_NAMES.filter((name): name is InternalServiceName => spec(name).grpc !== undefined);

export function isInternalService(service: ServiceName): service is InternalServiceName {
  return (INTERNAL_SERVICES as readonly ServiceName[]).includes(service);
}

/** The services `caller` calls over gRPC (those with a method it may call), in table order. */
export function callees(caller: ServiceName): ServiceName[] {
  return INTERNAL_SERVICES.filter((callee) =>
    callee !== caller && Object.values(spec(callee).grpc ?? {}).some((table) => Object.values(table).some((callers) => callers.includes(caller))),
  );
}

/** The variable a caller finds a service's gRPC address in: AUTH_ADDR, BLOB_UPLOAD_ADDR, ... */
export function addressVariable(service: InternalServiceName): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_ADDR`;
}

/** "ocireg.auth.v1.AuthService" of a definition (its methods' paths are "/ocireg.auth.v1.AuthService/Method"). */
export function grpcServiceName(definition: GrpcDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('a gRPC service definition without methods');
  return first.path.split('/')[1]!;
}

/**
 * The caller policy `service` serves `definition` with (startGrpcServer's
 * `callers`). Fails when the table does not give that service this gRPC
 * service, or names a method the definition lacks (which would otherwise
 * fall back to "*" unnoticed).
 */
export function callersOf(service: InternalServiceName, definition: GrpcDefinition): CallerTable {
  const name = grpcServiceName(definition);
  const table = spec(service).grpc?.[name];
  if (!table) throw new Error(`libs/topology does not give ${service} the gRPC service ${name}`);
  const unknown = Object.keys(table).filter((method) => method !== '*' && !(method in definition));
  if (unknown.length > 0) throw new Error(`libs/topology names methods ${name} does not have: ${unknown.join(', ')}`);
  return table;
}
