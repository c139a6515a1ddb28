export * from './free-port';
export * from './paths';
export * from './registry';
export * from './secrets';
export * from './workspaces';
