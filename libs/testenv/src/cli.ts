#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { ALL_DEPENDENCIES, startDependencies, type DependencyName } from './index';

// Node 20 quirk: node itself insists that an --env-file path exists, even one
// given after the script name, and exits with "not found" before this runs.
// Create the file first (`: > "$file"`). Seen with Node 20.20.
const USAGE = `usage: node libs/testenv/dist/cli.js up [--only ${ALL_DEPENDENCIES.join(',')}] [--env-file PATH] [--work-dir DIR]

Starts the dependencies, prints KEY=value lines (and writes them to PATH),
then runs until SIGINT or SIGTERM and stops them. On Node 20 the env file
must exist beforehand (node checks any --env-file path itself).`;

interface Args {
  only?: DependencyName[];
  envFile?: string;
  workDir?: string;
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== 'up') fail(command === undefined ? 'missing command' : `unknown command "${command}"`);
  const args: Args = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    const [name, inline] = flag.split(/=(.*)/s) as [string, string | undefined];
    const value = () => inline ?? rest[++i] ?? fail(`${name} needs a value`);
    switch (name) {
      case '--only': {
        const names = value().split(',').filter(Boolean);
        const unknown = names.filter((n) => !ALL_DEPENDENCIES.includes(n as DependencyName));
        if (unknown.length > 0) fail(`unknown dependency: ${unknown.join(', ')}`);
        args.only = names as DependencyName[];
        break;
      }
      case '--env-file':
        args.envFile = value();
        break;
      case '--work-dir':
        args.workDir = value();
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
      default:
        fail(`unknown option "${flag}"`);
    }
  }
  return args;
}

function fail(message: string): never {
  console.error(`testenv: ${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.error(`testenv: ${line}`);
  const deps = await startDependencies({ only: args.only, workDir: args.workDir, log });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    deps.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  // on, not once: a second Ctrl-C during the stop must not kill us halfway (the exit guard would SIGKILL).
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  const lines = Object.entries(deps.env).map(([key, value]) => `${key}=${value}`);
  if (args.envFile) writeFileSync(args.envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  console.log(lines.join('\n'));
  log(`ready${args.envFile ? `, variables in ${args.envFile}` : ''}; Ctrl-C or SIGTERM stops everything`);
  setInterval(() => undefined, 1 << 30); // the servers are unref'd children: keep running until a signal
}

main().catch((err: unknown) => {
  console.error(`testenv: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
