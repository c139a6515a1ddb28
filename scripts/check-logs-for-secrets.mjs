// Fails when any secret handed out during the e2e run (API tokens, web UI
// passwords, session cookies, invitation and reset link secrets) appears in any
// service log of that run (the tests record both in reports/secret-audit/).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
  for (const name of readdirSync(dir)) {
    // Log directories also hold the run's certificates (tls/): only files are logs.
    if (!statSync(path.join(dir, name)).isFile()) continue;
    const text = readFileSync(path.join(dir, name), 'utf8');
    files += 1;
    for (const secret of secrets) {
      if (text.includes(secret)) {
        leaks += 1;
        console.log(`secret audit: a token (${secret.slice(0, 24)}...) appears in ${path.join(dir, name)}`);
      }
    }
  }
}
console.log(`secret audit: ${secrets.length} secrets checked against ${files} log files: ${leaks === 0 ? 'none leaked' : `${leaks} leaks`}`);
process.exit(leaks === 0 ? 0 : 1);
