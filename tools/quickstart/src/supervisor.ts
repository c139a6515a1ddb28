/**
 * Restarts a service that died, as Kubernetes would: after a pause that
 * doubles with each crash in a row (1 s, 2 s, 4 s ... at most 30 s) and
 * starts over once the service has stayed up for a minute.
 */
export interface SupervisedService {
  name: string;
  /** Where its output goes (named when it dies). */
  logFile: string;
  isAlive(): boolean;
  /** Starts it again and resolves once it is ready (rejects when it fails to start). */
  restart(): Promise<void>;
}

export interface SupervisorOptions {
  say(line: string): void;
  now?: () => number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Up this long after a restart: the next crash waits the first delay again. */
  healthyAfterMs?: number;
}

interface State {
  crashes: number;
  restartAt?: number;
  restarting: boolean;
  upSince: number;
}

export class Supervisor {
  private readonly states = new Map<string, State>();
  private readonly now: () => number;

  constructor(
    private readonly services: SupervisedService[],
    private readonly options: SupervisorOptions,
  ) {
    this.now = options.now ?? Date.now;
    for (const service of services) this.states.set(service.name, { crashes: 0, restarting: false, upSince: this.now() });
  }

  /** One look at every service: schedules restarts of dead ones, runs those that are due. Call it every second or so. */
  async tick(): Promise<void> {
    const { firstDelayMs = 1_000, maxDelayMs = 30_000, healthyAfterMs = 60_000 } = this.options;
    await Promise.all(
      this.services.map(async (service) => {
        const state = this.states.get(service.name)!;
        if (state.restarting) return;
        if (service.isAlive()) {
          if (state.crashes > 0 && this.now() - state.upSince >= healthyAfterMs) state.crashes = 0;
          return;
        }
        if (state.restartAt === undefined) {
          const delay = Math.min(maxDelayMs, firstDelayMs * 2 ** state.crashes);
          state.crashes += 1;
          state.restartAt = this.now() + delay;
          this.options.say(`${service.name} stopped unexpectedly (see ${service.logFile}); restarting it in ${Math.round(delay / 1000)} s (crash ${state.crashes} in a row)`);
          return;
        }
        if (this.now() < state.restartAt) return;
        state.restarting = true;
        try {
          await service.restart();
          state.upSince = this.now();
          this.options.say(`${service.name} restarted`);
        } catch (err) {
          this.options.say(`${service.name} failed to start again: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        } finally {
          state.restartAt = undefined;
          state.restarting = false;
        }
      }),
    );
  }
}
