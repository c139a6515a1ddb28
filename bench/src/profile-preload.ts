/**
 * Preloaded into our services with BENCH_PROFILE_DIR (NODE_OPTIONS=--require
 * this file; Node 20 refuses --cpu-prof there): a V8 CPU profile of the whole
 * process, written to $OCIREG_PROFILE_DIR/<service>-<pid>.cpuprofile at exit.
 * Open it in Chrome DevTools or speedscope.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.OCIREG_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-process inspector answers synchronously, so this works in an exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      const service = path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node')));
      writeFileSync(path.join(dir, `${service}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
