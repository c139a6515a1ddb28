export * from './service-names';
export * from './tls-material';
export * from './user-assertions';
