// docs/security.md's "Which service may call which method" says what the table says,
// method by method. (e2e/tests/authorization-matrix.test.ts checks the running services
// against its own copy of the documented answers.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as proto from '@ocireg/proto';
import { describe, expect, it } from 'vitest';
import { INTERNAL_SERVICES, type GrpcDefinition } from './call-graph';
import { SERVICE_NAMES, serviceSpec, type ServiceName } from './topology';

const DOC = 'docs/security.md';
const HEADING = '### Which service may call which method';

const pascal = (method: string) => method[0]!.toUpperCase() + method.slice(1);
const isService = (word: string): word is ServiceName => (SERVICE_NAMES as readonly string[]).includes(word);

/** The proto definition of a gRPC service by full name. */
function definitionOf(fullName: string): GrpcDefinition {
  for (const namespace of Object.values(proto)) {
    for (const value of Object.values(typeof namespace === 'object' && namespace ? namespace : {})) {
      const first = Object.values((value ?? {}) as Record<string, { path?: unknown }>)[0];
      if (typeof first?.path === 'string' && first.path.startsWith(`/${fullName}/`)) return value as GrpcDefinition;
    }
  }
  throw new Error(`no proto definition of ${fullName}`);
}

/** "<service> <full gRPC name>/<Method>" -> its callers, sorted, for every method of every internal gRPC service. */
function fromTable(): Map<string, string> {
  const cells = new Map<string, string>();
  for (const service of INTERNAL_SERVICES) {
    for (const [fullName, table] of Object.entries(serviceSpec(service).grpc ?? {})) {
      for (const method of Object.keys(definitionOf(fullName))) {
        cells.set(`${service} ${fullName}/${pascal(method)}`, [...(table[method] ?? table['*'] ?? [])].sort().join(', '));
      }
    }
  }
  return cells;
}

/**
 * The rows of the document's table, read the same way: "<service> `Service`: M1, M2", "<service>
 * `Service` (every method)", "<service> `Service`: every method but those below",
 * "<service> `Service/M1`, `M2`"; the callers are the service names the second cell starts with.
 */
function fromDocument(): Map<string, string> {
  const text = readFileSync(path.resolve(__dirname, '../../..', DOC), 'utf8');
  const start = text.indexOf(HEADING);
  if (start < 0) throw new Error(`${DOC} has no "${HEADING}"`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows = lines
    .slice(first + 2, first + lines.slice(first).findIndex((line) => !line.startsWith('|'))) // past the header and separator, up to the table's end
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  const cells = new Map<string, string>();
  const rest: { service: string; fullName: string; callers: string }[] = [];
  for (const [what = '', who = ''] of rows) {
    const service = what.split(' ')[0]!;
    const quoted = [...what.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const [reference, firstMethod] = quoted[0]!.split('/');
    const fullName = Object.keys((isService(service) && serviceSpec(service).grpc) || {}).find((name) => name === reference || name.endsWith(`.${reference}`));
    if (!fullName) throw new Error(`${DOC}: "${what}" names no gRPC service the table gives ${service}`);
    const callers: string[] = [];
    for (const word of who.split(/[\s,]+/)) {
      if (!isService(word)) break;
      callers.push(word);
    }
    const entry = { service, fullName, callers: callers.sort().join(', ') };
    const listed = / \(every method\)$/.test(what) ? Object.keys(definitionOf(fullName)).map(pascal) : firstMethod ? [firstMethod, ...quoted.slice(1)] : what.includes(': every method but those below') ? undefined : what.split(': ')[1]!.split(', ');
    if (!listed) rest.push(entry);
    for (const method of listed ?? []) cells.set(`${service} ${fullName}/${method}`, entry.callers);
  }
  for (const { service, fullName, callers } of rest) {
    for (const method of Object.keys(definitionOf(fullName)).map(pascal)) {
      const key = `${service} ${fullName}/${method}`;
      if (!cells.has(key)) cells.set(key, callers);
    }
  }
  return cells;
}

describe(`${DOC}: which service may call which method`, () => {
  it('answers as libs/topology does, for every method of every internal gRPC service', () => {
    const documented = fromDocument();
    expect(documented.size).toBeGreaterThan(20);
    expect(Object.fromEntries([...documented].sort()), `${DOC} against libs/topology/src/topology.ts`).toEqual(Object.fromEntries([...fromTable()].sort()));
  });
});
