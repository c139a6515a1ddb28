import { parentPort } from 'node:worker_threads';
import { evaluateRetention, type EvaluationInput } from './evaluate';

/**
 * The thread retention evaluations run on (evaluation-thread.ts): a package's
 * facts in, its evaluation out, so a package of 100,000 tags never holds the
 * metadata process's event loop (and the pushes and pulls it serves).
 */
parentPort!.on('message', ({ id, input }: { id: number; input: EvaluationInput }) => {
  try {
    parentPort!.postMessage({ id, evaluation: evaluateRetention(input) });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
