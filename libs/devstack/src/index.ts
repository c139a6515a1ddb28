export * from './registry';
export * from './workspaces';
