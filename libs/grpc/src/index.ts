export * from './client';
export * from './server';
export * from './shutdown';
