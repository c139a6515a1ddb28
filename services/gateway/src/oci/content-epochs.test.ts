import { describe, expect, it } from 'vitest';
import { ContentEpochs } from './content-epochs';

describe('ContentEpochs', () => {
  const clocked = () => {
    let now = 100;
    return { epochs: new ContentEpochs(() => now), tick: () => ++now };
  };

  it('trusts what was read after the last removal in the workspace, and only that', () => {
    const { epochs, tick } = clocked();
    const before = epochs.now();
    tick();
    epochs.removed('acme');
    tick();
    const after = epochs.now();
    expect(epochs.fresh('acme/app', before)).toBe(false);
    expect(epochs.fresh('acme/app', after)).toBe(true);
    // Another workspace's removal changes nothing here.
    expect(epochs.fresh('other/app', before)).toBe(true);
  });

  it('counts a read from when it began: a lookup in flight during a removal is stale', () => {
    const { epochs } = clocked();
    const began = epochs.now();
    epochs.removed('acme'); // same instant as the read began
    expect(epochs.fresh('acme/app/nested', began)).toBe(false);
  });

  it('after a resync (messages may have been missed) nothing read before is trusted, anywhere', () => {
    const { epochs, tick } = clocked();
    const before = epochs.now();
    tick();
    epochs.resync();
    tick();
    expect(epochs.fresh('acme/app', before)).toBe(false);
    expect(epochs.fresh('other/x', before)).toBe(false);
    expect(epochs.fresh('other/x', epochs.now())).toBe(true);
  });
});
