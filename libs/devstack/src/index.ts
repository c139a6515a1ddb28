export * from './health';
export * from './registry';
export * from './workspaces';
