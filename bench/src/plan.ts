import { CHUNK_BYTES, LAYERS, MIB, type BenchConfig } from './config';
import type { Layer, Loadgen } from './loadgen';
import { manifestPhase } from './phases/manifests';
import type { Phase } from './phases/phase';
import { pullPhase, pushPhase } from './phases/transfer';

/**
 * The phases of a pair, in order (later ones use layers earlier ones pushed):
 * 1 GiB in 4 layers pushed and pulled with one stream and with 4, pushed
 * again in 5 MiB PATCHes, manifest HEAD and GET by tag and GET by digest
 * under load, then single layers of 1 GiB and 4 GiB pushed and pulled with
 * every process's memory watched (flat memory looks the same at both sizes).
 */
export async function planPhases(config: BenchConfig, loadgen: Loadgen): Promise<Phase[]> {
  const total = config.totalMiB * MIB;
  const quarter = total / LAYERS;
  const layers = (prefix: string, count: number, size: number) => Array.from({ length: count }, (_, i) => ({ seed: `${prefix}-${i}`, size }));
  const digested = await loadgen.digests([...layers('one-stream', LAYERS, quarter), ...layers('four-streams', LAYERS, quarter), ...layers('chunked', LAYERS, quarter), { seed: 'layer', size: total }, { seed: 'big-layer', size: config.bigMiB * MIB }]);
  const take = (prefix: string): Layer[] => digested.filter((layer) => layer.seed.startsWith(`${prefix}-`) || layer.seed === prefix);
  const [oneStream, fourStreams, chunked, [layer], [big]] = [take('one-stream'), take('four-streams'), take('chunked'), take('layer'), take('big-layer')];
  const inLayers = `${size(config.totalMiB)} in ${LAYERS} layers`;
  const phases = [
    pushPhase('push-1', `push ${inLayers}, 1 stream`, oneStream, { streams: 1 }),
    pushPhase('push-4', `push ${inLayers}, ${LAYERS} streams`, fourStreams, { streams: LAYERS }),
    pullPhase('pull-1', `pull ${inLayers}, 1 stream`, oneStream, { streams: 1 }),
    pullPhase('pull-4', `pull ${inLayers}, ${LAYERS} streams`, fourStreams, { streams: LAYERS }),
    pushPhase('push-chunked', `push ${inLayers}, ${CHUNK_BYTES / MIB} MiB PATCHes with Content-Range`, chunked, { streams: 1, chunkBytes: CHUNK_BYTES }),
    manifestPhase('HEAD', 'tag', oneStream),
    manifestPhase('GET', 'tag', oneStream),
    manifestPhase('HEAD', 'tag per client', oneStream),
    manifestPhase('GET', 'digest', oneStream),
    pushPhase('push-layer', `push one ${size(config.totalMiB)} layer`, [layer!], { streams: 1, showsMemory: true }),
    pullPhase('pull-layer', `pull one ${size(config.totalMiB)} layer`, [layer!], { streams: 1, showsMemory: true }),
    pushPhase('push-big', `push one ${size(config.bigMiB)} layer`, [big!], { streams: 1, showsMemory: true }),
    pullPhase('pull-big', `pull one ${size(config.bigMiB)} layer`, [big!], { streams: 1, showsMemory: true }),
  ];
  const unknown = config.phases.filter((id) => !phases.some((phase) => phase.id === id));
  if (unknown.length > 0) throw new Error(`BENCH_PHASES: unknown ${unknown.join(', ')} (known: ${phases.map((phase) => phase.id).join(', ')})`);
  return config.phases.length === 0 ? phases : phases.filter((phase) => config.phases.includes(phase.id));
}

export function size(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}
