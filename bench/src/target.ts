/** One registry under test, as the phases see it. */
export interface Target {
  /** "ocireg" or "distribution": the side of the comparison. */
  side: 'ocireg' | 'distribution';
  /** What runs, e.g. "ocireg, embedded filesystem mode". */
  label: string;
  url: string;
  /** The repository every phase pushes to and pulls from. */
  repository: string;
  /** The Authorization header for a phase (a fresh registry token, as docker gets one per push), or none. */
  authorization(): Promise<string | undefined>;
  /** The processes that serve this registry (its storage server too), by name: their CPU and memory are its cost. */
  processes(): Record<string, number>;
}

export const REPOSITORY = 'bench/images';
