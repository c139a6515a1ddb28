// The web UI's bundle-size budget, checked by scripts/test.sh after the build:
// gzip sizes of the JavaScript and CSS the first page load fetches (web/dist/assets).
// Over budget fails the run, naming the files.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = { js: 110 * 1024, css: 15 * 1024 };
const dir = 'web/dist/assets';
let files;
try {
  files = readdirSync(dir);
} catch {
  console.log(`bundle budget: ${dir} is missing; run pnpm build first`);
  process.exit(1);
}
const totals = { js: 0, css: 0 };
const lines = [];
for (const name of files) {
  const kind = path.extname(name).slice(1);
  if (!(kind in totals)) continue;
  const size = gzipSync(readFileSync(path.join(dir, name)), { level: 9 }).length;
  totals[kind] += size;
  lines.push(`  ${name}: ${(size / 1024).toFixed(1)} KiB gzip`);
}
const over = Object.keys(BUDGET).filter((kind) => totals[kind] > BUDGET[kind]);
console.log(`bundle budget: JS ${(totals.js / 1024).toFixed(1)} of ${BUDGET.js / 1024} KiB, CSS ${(totals.css / 1024).toFixed(1)} of ${BUDGET.css / 1024} KiB (gzip)`);
if (over.length > 0) {
  console.log(lines.join('\n'));
  console.log(`bundle budget: over budget (${over.join(', ')}); shrink the bundle or raise the budget in scripts/check-bundle-size.mjs with a reason`);
  process.exit(1);
}
