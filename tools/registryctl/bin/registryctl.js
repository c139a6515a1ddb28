#!/usr/bin/env node
// The installed command: pnpm links it at install time, before dist/ is built.
require('../dist/cli.js');
