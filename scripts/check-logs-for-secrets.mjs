// Fails when any API token secret handed out during the e2e run appears in any
// service log of that run (the tests record both in reports/secret-audit/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const audit = 'reports/secret-audit';
if (!existsSync(path.join(audit, 'secrets.txt'))) {
  console.log('secret audit: no secrets were recorded (no e2e test ran)');
  process.exit(1);
}
const secrets = [...new Set(readFileSync(path.join(audit, 'secrets.txt'), 'utf8').split('\n').filter(Boolean))];
const logDirs = [...new Set(readFileSync(path.join(audit, 'log-dirs.txt'), 'utf8').split('\n').filter(Boolean))];
let files = 0;
let leaks = 0;
for (const dir of logDirs) {
  if (!existsSync(dir)) continue;
  // Every file below the directory: service logs, and whatever else a run keeps there (its certificates).
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    files += 1;
    for (const secret of secrets) {
      if (text.includes(secret)) {
        leaks += 1;
        console.log(`secret audit: a token (${secret.slice(0, 24)}...) appears in ${file}`);
      }
    }
  }
}
console.log(`secret audit: ${secrets.length} secrets checked against ${files} log files: ${leaks === 0 ? 'none leaked' : `${leaks} leaks`}`);
process.exit(leaks === 0 ? 0 : 1);
