import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clusterId } from './local/kafka';

describe('Kafka cluster id', () => {
  it('never begins with "-" (kafka-storage would read it as an option), even when the draw would', () => {
    // A UUID whose base64url form begins with "-": its first six bits are 62.
    const dashFirst = 'f8000000-0000-4000-8000-000000000000';
    expect(Buffer.from(dashFirst.replace(/-/g, ''), 'hex').toString('base64url')[0]).toBe('-');
    // The first draw is refused; later ones are random (and may be refused too: 1 in 32 begins with "-" or "_").
    let draws = 0;
    const id = clusterId(() => (draws++ === 0 ? dashFirst : randomUUID()));
    expect(draws).toBeGreaterThanOrEqual(2);
    expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
    for (let i = 0; i < 2000; i++) expect(clusterId()).toMatch(/^[A-Za-z0-9]/);
  });
});
