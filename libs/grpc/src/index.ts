export * from './client';
export * from './health-check';
export * from './server';
export * from './shutdown';
export * from './readiness';
export * from './grpc-service';
export * from './request-origin';
