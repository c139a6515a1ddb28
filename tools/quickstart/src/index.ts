export * from './demo';
export * from './embedded-postgres';
export * from './instructions';
export * from './secrets';
