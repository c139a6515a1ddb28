#!/usr/bin/env node
// `pnpm gen:topology`: writes charts/ocireg/topology.yaml from the table (derived-files.test.ts fails while it is stale).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHART_TOPOLOGY_PATH, chartTopologyYaml } from './chart-topology';

const file = path.resolve(__dirname, '../../..', CHART_TOPOLOGY_PATH);
writeFileSync(file, chartTopologyYaml());
process.stdout.write(`wrote ${CHART_TOPOLOGY_PATH}\n`);
