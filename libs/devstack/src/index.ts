export * from './health';
export * from './registry';
