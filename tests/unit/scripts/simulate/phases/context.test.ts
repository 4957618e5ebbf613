import { describe, expect, it } from 'vitest';
import { Teardown } from '../../../../../scripts/simulate/phases/context';

describe('Teardown (what a failure in any phase of simulate() stops)', () => {
  it('runs the steps last-registered first, waiting for each', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => void order.push('moto'));
    teardown.add(async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('broker');
    });
    teardown.add(() => void order.push('pools'));
    await teardown.run();
    expect(order).toEqual(['pools', 'broker', 'moto']);
  });

  it('keeps stopping the rest when a step throws or rejects', async () => {
    const teardown = new Teardown();
    const order: string[] = [];
    teardown.add(() => void order.push('moto'));
    teardown.add(() => Promise.reject(new Error('broker already closed')));
    teardown.add(() => {
      throw new Error('pool gone');
    });
    teardown.add(() => void order.push('timer'));
    await expect(teardown.run()).resolves.toBeUndefined();
    expect(order).toEqual(['timer', 'moto']);
  });

  it('runs each step once, also when run twice', async () => {
    const teardown = new Teardown();
    let stops = 0;
    teardown.add(() => void stops++);
    await teardown.run();
    await teardown.run();
    expect(stops).toBe(1);
  });
});
