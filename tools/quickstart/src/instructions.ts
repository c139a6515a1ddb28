import path from 'node:path';
import { DEMO_PACKAGE } from './demo';
import type { DemoCredentials } from './secrets';

export interface StartedStack {
  gatewayUrl: string;
  /** host:port as docker wants it. */
  registryHost: string;
  /** The admin API (the gateway's admin port): the same on every start. */
  adminAddress: string;
  operator: { email: string; token: string };
  dataDir: string;
  logDir: string;
  secretsFile: string;
  /** Relative to the repository root, where the user runs commands. */
  registryctl: string;
  demo?: DemoCredentials;
}

/**
 * What the user reads once the registry is up. The "try it" lines are exact
 * shell commands (the quick-start test runs them as printed).
 */
export function startInstructions(stack: StartedStack): string[] {
  const ctl = `node ${stack.registryctl}`;
  const lines = [
    `Registry ready at ${stack.gatewayUrl}`,
    `  web UI: ${stack.gatewayUrl}/${stack.demo?.password ? `  (sign in as ${stack.demo.email}, password ${stack.demo.password})` : '  (sign in with a password set through an invitation: registryctl user invite <email>)'}`,
    `  data:  ${stack.dataDir} (kept across restarts; secrets in ${stack.secretsFile}, mode 0600)`,
    `  logs:  ${path.join(stack.logDir, '<service>.log')}`,
    '',
    `Bootstrap admin: ${stack.operator.email} (an operator: allowed every admin call). Administer with registryctl from the repository root:`,
    `  export REGISTRY_ADMIN_ADDR=${stack.adminAddress}`,
    `  export REGISTRY_TOKEN=${stack.operator.token}`,
    `  ${ctl} user create you@example.com`,
    `  ${ctl} token create you@example.com --scopes read:package,write:package --expires-in-days 30`,
    `  ${ctl} user invite you@example.com      # prints a link to set a web UI password`,
    '',
  ];
  if (stack.demo) {
    const image = `${stack.registryHost}/${stack.demo.workspace}/${DEMO_PACKAGE}:1`;
    lines.push(
      `Demo: workspace "${stack.demo.workspace}" (project main, repository app, package ${DEMO_PACKAGE}, images examples/web and tools/cli to look at; other packages are created on first push).`,
      ...(stack.demo.password ? [`Web UI: ${stack.gatewayUrl}/ as ${stack.demo.email}, password ${stack.demo.password} (kept in secrets.json)`] : []),
      `User ${stack.demo.email} is Admin of repository app. Its API token:`,
      `  ${stack.demo.token}`,
      'Try it:',
      `  echo '${stack.demo.token}' | docker login ${stack.registryHost} --username ${stack.demo.email} --password-stdin`,
      `  tar -C /etc -c hostname | docker import - ${image}`,
      `  docker push ${image}`,
      `  docker pull ${image}`,
    );
  } else {
    lines.push(
      'Log in with any user\'s API token (the token is the password), e.g. the bootstrap admin\'s:',
      `  echo "$REGISTRY_TOKEN" | docker login ${stack.registryHost} --username ${stack.operator.email} --password-stdin`,
      `  docker push ${stack.registryHost}/<workspace>/<image>:<tag>`,
      `A push needs a workspace (${ctl} workspace create <slug> --organization <org>, see docs/operations.md),`,
      'or start with --demo for a ready workspace, user and token.',
    );
  }
  lines.push('', `Press Ctrl-C to stop. The next start reuses ${stack.dataDir}.`);
  return lines;
}
