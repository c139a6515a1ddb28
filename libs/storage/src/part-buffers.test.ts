import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartBuffers } from './part-buffers';

describe('PartBuffers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hands back the buffers S3 is done with before making new ones', () => {
    const buffers = new PartBuffers(16, 2, 1000);
    const first = buffers.take();
    expect(first.length).toBe(16);
    buffers.giveBack(first);
    expect(buffers.take()).toBe(first);
    expect(buffers.take()).not.toBe(first);
  });

  it('keeps at most one upload worth of spare buffers', () => {
    const buffers = new PartBuffers(16, 2, 1000);
    for (const buffer of [buffers.take(), buffers.take(), buffers.take()]) buffers.giveBack(buffer);
    expect(buffers.idle).toBe(2);
  });

  it('lets the spare buffers go once no part came back for the idle time', () => {
    const buffers = new PartBuffers(16, 2, 1000);
    buffers.giveBack(buffers.take());
    vi.advanceTimersByTime(900);
    // A part returned during an upload keeps them for another idle time.
    buffers.giveBack(buffers.take());
    vi.advanceTimersByTime(900);
    expect(buffers.idle).toBe(1);
    vi.advanceTimersByTime(100);
    expect(buffers.idle).toBe(0);
    // And the next upload starts the count again.
    buffers.giveBack(buffers.take());
    vi.advanceTimersByTime(999);
    expect(buffers.idle).toBe(1);
    vi.advanceTimersByTime(1);
    expect(buffers.idle).toBe(0);
  });
});
