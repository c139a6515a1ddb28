// chart-topology (the YAML the chart reads) is left out: only its generator and tests load it, and `yaml` with it.
export * from './call-graph';
export * from './gateway-runtime';
export * from './topology';
