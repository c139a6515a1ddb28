import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { admin } from '@ocireg/proto';
import type { CallerResolver } from '../callers';
import type { Collector } from './collector';
import type { Orphan } from './orphan-sweep';
import type { GcAction } from './reviews';

type GcMethods = Pick<AsyncService<admin.AdminServiceServer>, 'getGcStatus' | 'runGc'>;

/** Items shown per list of a run's report; the totals count them all. */
const SHOWN = 1000;

/** The admin API's garbage collection methods: operators only. */
export function gcHandlers(collector: Collector, callers: CallerResolver): GcMethods {
  const operator = (ctx: CallContext, change: boolean) => {
    const caller = change ? callers.changer(ctx) : callers.reader(ctx);
    if (!caller.operator) throw new RegistryError('DENIED', 'only operators may do this');
    return caller;
  };
  return {
    async getGcStatus(_request, ctx) {
      operator(ctx, false);
      const status = await collector.status();
      return {
        reviewsPending: status.reviewsPending,
        reviewsDue: status.reviewsDue,
        oldestDueSeconds: status.oldestDueSeconds,
        nextReviewAt: status.nextReviewAt?.toISOString() ?? '',
        blobsMarked: status.blobsMarked,
        bytesMarked: status.bytesMarked,
        totals: status.totals,
        lastSweepAt: status.lastSweepAt?.toISOString() ?? '',
      };
    },
    async runGc(request, ctx) {
      const caller = operator(ctx, !request.dryRun);
      const report = request.dryRun ? await collector.dryRun({ sweep: request.sweep }) : await collector.collect({ sweep: request.sweep });
      ctx.logger.info({ dryRun: request.dryRun, sweep: request.sweep, decided: report.actions.length, freed: report.freed.length, orphans: report.orphans?.length, actor: caller.userId }, 'garbage collection run');
      return {
        decided: report.actions.slice(0, SHOWN).map(item),
        decidedTotal: report.actions.length,
        freed: report.freed.slice(0, SHOWN).map(item),
        freedTotal: report.freed.length,
        freedBytes: report.freed.reduce((sum, blob) => sum + (blob.bytes ?? 0), 0),
        orphans: (report.orphans ?? []).slice(0, SHOWN).map(orphanItem),
        orphansTotal: report.orphans?.length ?? 0,
        swept: report.orphans !== undefined,
      };
    },
  };
}

function item(action: GcAction): admin.GcItem {
  return { kind: action.kind, fullName: action.repository, digest: action.digest, storageKey: '', why: action.why, bytes: action.bytes ?? 0 };
}

function orphanItem(orphan: Orphan): admin.GcItem {
  return { kind: 'orphan', fullName: '', digest: '', storageKey: orphan.key, why: orphan.why, bytes: orphan.bytes };
}
