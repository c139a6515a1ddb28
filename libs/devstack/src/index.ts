// The tests' registry is the launcher's (product code); what only tests and `start.sh --full` need lives here.
export * from '@ocireg/launcher';
export { GATEWAY_ENV, GATEWAY_NODE_FLAGS } from '@ocireg/topology';
