import type { Layer, TransferResult } from '../loadgen';
import { measure } from '../measure';
import { warmPageCache } from '../page-cache';
import type { Figure, Phase } from './phase';

interface TransferOptions {
  streams: number;
  showsMemory?: boolean;
}

/** Pushes `layers` with `streams` at once: as docker does (one streamed PATCH per layer), or in PATCHes of `chunkBytes` with Content-Range. */
export function pushPhase(id: string, title: string, layers: Layer[], options: TransferOptions & { chunkBytes?: number }): Phase {
  return {
    id,
    title,
    showsMemory: options.showsMemory,
    storesBytes: total(layers),
    async run(target, { loadgen, scratchDir }) {
      const endpoint = { url: target.url, authorization: await target.authorization() };
      warmPageCache(scratchDir, total(layers));
      const { result, cost } = await measure(target, (onStart) => loadgen.push(endpoint, target.repository, layers, options, onStart));
      return { figure: throughput(result), cost };
    },
  };
}

/** Pulls `layers` (pushed by an earlier phase) with `streams` at once, checking every byte. */
export function pullPhase(id: string, title: string, layers: Layer[], options: TransferOptions): Phase {
  return {
    id,
    title,
    showsMemory: options.showsMemory,
    storesBytes: 0,
    async run(target, { loadgen, config }) {
      const endpoint = { url: target.url, authorization: await target.authorization() };
      const { result, cost } = await measure(target, (onStart) => loadgen.pull(endpoint, target.repository, layers, { streams: options.streams, verify: config.verify }, onStart));
      return { figure: throughput(result), cost };
    },
  };
}

function throughput(result: TransferResult): Figure {
  return { kind: 'throughput', bytes: result.bytes, seconds: result.seconds, mbps: result.bytes / 1e6 / result.seconds, finishSeconds: result.finishSeconds };
}

function total(layers: Layer[]): number {
  return layers.reduce((sum, layer) => sum + layer.size, 0);
}
