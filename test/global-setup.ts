import { ALL_DEPENDENCIES, startDependencies, STORAGE_EMULATORS, type StartedDependencies } from '@ocireg/testenv';

let dependencies: StartedDependencies | undefined;

/**
 * Starts the real servers once for the integration project and hands their
 * endpoints to every test file through the variables production uses: the
 * production-like stack, and the object stores of the azure and gcs storage
 * backends (Azurite, fake-gcs-server).
 */
export async function setup(): Promise<void> {
  const started = Date.now();
  dependencies = await startDependencies({ only: [...ALL_DEPENDENCIES, ...STORAGE_EMULATORS], log: (line) => console.log(`[deps] ${line}`) });
  Object.assign(process.env, dependencies.env);
  console.log(`[deps] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export async function teardown(): Promise<void> {
  await dependencies?.stop();
}
