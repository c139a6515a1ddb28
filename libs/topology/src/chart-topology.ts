import { Document, isScalar, visit } from 'yaml';
import { addressVariable, callees, isInternalService } from './call-graph';
import { DEPENDENCIES, SERVICE_NAMES, serviceSpec } from './topology';

/** Where the table is written for what cannot import TypeScript: the chart's templates and the image build. */
export const CHART_TOPOLOGY_PATH = 'charts/ocireg/topology.yaml';
export const REGENERATE_COMMAND = 'pnpm gen:topology';

/** The table as the chart reads it: per service its values key, kind of server, ports, the services it calls and the dependencies it uses. */
export function chartTopology() {
  return {
    services: SERVICE_NAMES.map((name) => {
      const { ports, uses, node, outbound } = serviceSpec(name);
      return {
        name,
        valuesKey: name.replace(/-(.)/g, (_, letter: string) => letter.toUpperCase()),
        kind: isInternalService(name) ? 'grpc' : 'http',
        ports,
        ...(isInternalService(name) ? { addressVariable: addressVariable(name) } : {}),
        calls: callees(name),
        uses,
        ...(outbound ? { outbound } : {}),
        ...(node ? { node } : {}),
      };
    }),
    dependencies: DEPENDENCIES,
  };
}

/** The text of charts/ocireg/topology.yaml: lists and maps of plain values on one line each. */
export function chartTopologyYaml(): string {
  const doc = new Document(chartTopology());
  visit(doc, {
    Seq: (_, node) => void (node.flow = node.items.every(isScalar)),
    Map: (_, node) => void (node.flow = node.items.every((pair) => isScalar(pair.value))),
  });
  doc.commentBefore = [
    ` Generated from libs/topology/src/topology.ts by \`${REGENERATE_COMMAND}\`: do not edit.`,
    ' The registry\'s processes, the services each calls over gRPC and the dependencies each uses,',
    ' for the chart\'s templates (.Files.Get "topology.yaml") and scripts/images/build.sh.',
  ].join('\n');
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

