import path from 'node:path';

/** The checkout the services run from: services/<name>/dist/main.js under it. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
