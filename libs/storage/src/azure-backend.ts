import { DefaultAzureCredential } from '@azure/identity';
import { env, z } from '@ocireg/config';
import { AZURE_MAX_BLOCK_SIZE, AZURE_MAX_BLOCKS, AzureBlobStore } from './azure-store';
import { DEFAULT_PART_SIZE, partCountProblem } from './parted-append';
import { missing, partSizeOf, type SettingsEnv, type StorageBackend } from './storage-backend';

export const azureSettings = () => ({
  AZURE_STORAGE_ACCOUNT: z.string().regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name: 3 to 24 lowercase letters and digits').optional(),
  AZURE_STORAGE_CONTAINER: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'expected a container name: 3 to 63 lowercase letters, digits and single hyphens').optional(),
  /** The account's shared key; unset: workload identity (or any credential DefaultAzureCredential finds). */
  AZURE_STORAGE_KEY: z.string().min(1).optional(),
  /** The blob service's URL; https://<account>.blob.core.windows.net when unset (Azurite: http://127.0.0.1:10000/<account>). */
  AZURE_STORAGE_ENDPOINT: env.optionalUrl(),
});

export type AzureEnv = SettingsEnv<typeof azureSettings>;

/** Azure Blob Storage, block blobs, through @azure/storage-blob. */
export const azureBackend: StorageBackend<AzureEnv> = {
  problems(vars, { maxBlobSize }) {
    const problems = missing(vars, ['AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_CONTAINER'], 'azure');
    const partSize = partSizeOf(vars) ?? DEFAULT_PART_SIZE;
    if (partSize > AZURE_MAX_BLOCK_SIZE) problems.push({ variable: 'UPLOAD_PART_SIZE', message: "must be at most 4000 MiB (Azure's largest block)" });
    const count = partCountProblem(maxBlobSize, partSize, AZURE_MAX_BLOCKS, 'Azure blocks');
    if (count) problems.push({ variable: 'UPLOAD_PART_SIZE', message: count });
    return problems;
  },
  async create(vars, { createBucket }) {
    const account = vars.AZURE_STORAGE_ACCOUNT!;
    const store = new AzureBlobStore({
      endpoint: vars.AZURE_STORAGE_ENDPOINT ?? `https://${account}.blob.core.windows.net`,
      account,
      container: vars.AZURE_STORAGE_CONTAINER!,
      accountKey: vars.AZURE_STORAGE_KEY,
      // Under AKS workload identity: the client id, tenant and token file its webhook puts in the pod's environment.
      credential: vars.AZURE_STORAGE_KEY ? undefined : new DefaultAzureCredential(),
      partSize: partSizeOf(vars),
    });
    if (createBucket) await store.ensureContainer();
    return store;
  },
};
