export * from './health';
export * from './ports';
export * from './registry';
