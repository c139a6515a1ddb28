import { startDependencies, type StartedDependencies } from '@ocireg/testenv';

let dependencies: StartedDependencies | undefined;

/**
 * Starts the real servers once for the integration project and hands their
 * endpoints to every test file through the variables production uses.
 */
export async function setup(): Promise<void> {
  const started = Date.now();
  dependencies = await startDependencies({ log: (line) => console.log(`[deps] ${line}`) });
  Object.assign(process.env, dependencies.env);
  console.log(`[deps] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export async function teardown(): Promise<void> {
  await dependencies?.stop();
}
