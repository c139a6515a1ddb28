import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClasspath } from '../paths';
import { freePort, waitUntilReady, type ProcessGroup } from '../processes';
import { runSetup, type StartedServer } from './server';

/**
 * Kafka in KRaft combined mode (broker + controller), one node, its clients'
 * listener on `host` (127.0.0.1; another address where clients must reach it
 * there: Kafka tells clients its own address, so a relay will not do).
 */
export async function startKafka(dir: string, group: ProcessGroup, host = '127.0.0.1'): Promise<StartedServer> {
  const classpath = kafkaClasspath();
  const [port, controllerPort] = [await freePort(), await freePort()];
  const kafkaDir = path.join(dir, 'kafka');
  rmSync(kafkaDir, { recursive: true, force: true }); // a reused workDir starts from scratch
  mkdirSync(kafkaDir, { recursive: true });
  const properties = path.join(kafkaDir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://${host}:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${host}:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${path.join(kafkaDir, 'data')}`,
      // One node: every internal topic with one replica.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'num.partitions=1',
      '',
    ].join('\n'),
  );
  // Small heap and a quick-starting JIT: a test broker on a 2-core machine.
  // log4j2 has no config file here; this level makes its default console logger say what happens.
  const java = (level: string) => ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', `-Dlog4j2.level=${level}`, '-cp', classpath];
  // --standalone: this node is the only controller voter (Kafka 4.x).
  await runSetup('kafka', 'kafka.tools.StorageTool format', 'java', [...java('WARN'), 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties, '--standalone']);

  const brokers = `${host}:${port}`;
  const launch = async () => {
    const server = group.start('kafka', 'java', [...java('INFO'), 'kafka.Kafka', properties], { logFile: path.join(dir, 'kafka.log'), cwd: kafkaDir });
    await waitUntilReady(server, () => listTopics(brokers), 90_000);
    return server;
  };
  return { env: { KAFKA_BROKERS: brokers }, server: await launch(), relaunch: launch };
}

async function listTopics(brokers: string): Promise<boolean> {
  const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect();
  }
}

/**
 * KRaft wants a base64url-encoded UUID as the cluster id. One in 32 of those
 * begins with "-" or "_", and `kafka-storage format -t -zCX...` reads a
 * leading "-" as an option: draw again until it begins with a letter or digit.
 */
export function clusterId(draw: () => string = randomUUID): string {
  for (;;) {
    const id = Buffer.from(draw().replace(/-/g, ''), 'hex').toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
