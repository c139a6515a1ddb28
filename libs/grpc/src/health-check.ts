import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

type HealthClient = Client & {
  check(request: { service: string }, options: { deadline: number }, callback: (err: ServiceError | null, response?: { status: string }) => void): void;
};
type HealthClientConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient;

const healthPackage = loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as { grpc: { health: { v1: { Health: HealthClientConstructor } } } };

/** One grpc.health.v1 Check; resolves to the serving status, e.g. "SERVING". */
export function checkGrpcHealth(address: string, service = '', timeoutMs = 2000): Promise<string> {
  const client = new healthPackage.grpc.health.v1.Health(address, credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + timeoutMs }, (err, response) => {
      client.close();
      if (err) reject(err);
      else resolve(response?.status ?? 'UNKNOWN');
    });
  });
}
