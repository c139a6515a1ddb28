import { beforeAll } from 'vitest';
import { AzureBlobStore } from './azure-store';
import { blobStoreContract } from './contract';

// Runs against the Azurite that the integration setup starts (AZURE_STORAGE_* variables), with its account key:
// Azurite signs no user delegation keys (it refuses them to shared-key clients), so SAS URLs here are the shared key's.
function storeFromEnv(): AzureBlobStore {
  const env = process.env;
  return new AzureBlobStore({ endpoint: env.AZURE_STORAGE_ENDPOINT!, account: env.AZURE_STORAGE_ACCOUNT!, accountKey: env.AZURE_STORAGE_KEY!, container: env.AZURE_STORAGE_CONTAINER! });
}

beforeAll(async () => {
  await storeFromEnv().ensureContainer();
});

blobStoreContract('Azure Blob Storage (Azurite)', storeFromEnv, { bufferedPulls: false, signedUrls: true });
