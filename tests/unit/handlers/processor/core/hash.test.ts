import { describe, expect, it } from 'vitest';
import { fnv1a32, zoneShard } from '../../../../../handlers/processor/core/hash';

describe('zoneShard', () => {
  it('is stable and within the shard count', () => {
    expect(fnv1a32('sensor-00001')).toBe(fnv1a32('sensor-00001'));
    expect(zoneShard('downtown', 'sensor-00001', 10)).toMatch(/^downtown#[0-9]$/);
    const shards = new Set(Array.from({ length: 2000 }, (_, i) => zoneShard('downtown', `sensor-${i}`, 10)));
    expect(shards.size).toBe(10);
  });
});
