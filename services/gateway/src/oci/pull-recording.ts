import { randomUUID } from 'node:crypto';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import { Counter, type Registry } from '@ocireg/metrics';
import type { metadata } from '@ocireg/proto';
import { PullBatcher } from './pull-batcher';

/** A batch call waits this long for metadata at most: a flush never holds up a shutdown for long. */
const RECORD_DEADLINE_MS = 10_000;

/**
 * The gateway's batcher of last-pulled times (issue 24), flushed every
 * `flushSeconds` to metadata's RecordPulls, with counters of what was
 * recorded, dropped (the batch was full) and lost (RecordPulls failed twice).
 */
export function createPullRecording(client: metadata.RegistryMetadataServiceClient, options: { flushSeconds: number; logger: Logger; metrics: Registry }): PullBatcher {
  const records = new Counter({
    name: 'gateway_pull_times_records_total',
    help: 'Pulls of a tag or digest sent to metadata as last-pulled times (coalesced between flushes), by outcome',
    labelNames: ['outcome'],
    registers: [options.metrics],
  });
  return new PullBatcher({
    flushMs: options.flushSeconds * 1000,
    logger: options.logger,
    counted: (outcome, n) => records.inc({ outcome }, n),
    send: async (batch) => {
      const pulls = batch.map(({ repository, tag, digest, at }) => ({ name: repository, tag, digest, pulledAt: new Date(at).toISOString() }));
      await unaryCall(client.recordPulls.bind(client), { pulls }, { requestId: `pull-times-${randomUUID()}`, deadlineMs: RECORD_DEADLINE_MS });
    },
  });
}
