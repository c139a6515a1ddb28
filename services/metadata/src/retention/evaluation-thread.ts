import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Evaluation, EvaluationInput } from './evaluate';

/** The compiled worker: beside this file in dist/, or in dist/ when this file runs from src/ (tests). */
const WORKER_FILE = [path.join(__dirname, 'evaluation-worker.js'), path.resolve(__dirname, '../../dist/retention/evaluation-worker.js')].find((file) => existsSync(file));

/**
 * Runs evaluateRetention on a worker thread of its own, one evaluation at a
 * time in the order asked. The thread starts on the first evaluation, never
 * keeps the process alive, and is started again if it dies (what it was
 * evaluating then fails with an error, the next evaluation gets a new thread).
 */
export class EvaluationThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(evaluation: Evaluation): void; reject(err: Error): void }>();

  evaluate(input: EvaluationInput): Promise<Evaluation> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<Evaluation>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, input });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    if (!WORKER_FILE) throw new Error('retention: the compiled evaluation worker (dist/retention/evaluation-worker.js) is missing; run the build');
    const worker = new Worker(WORKER_FILE);
    worker.unref();
    worker.on('message', ({ id, evaluation, error }: { id: number; evaluation?: Evaluation; error?: string }) => {
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      if (error !== undefined) waiting?.reject(new Error(`retention evaluation failed: ${error}`));
      else waiting?.resolve(evaluation!);
    });
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`the retention evaluation thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
