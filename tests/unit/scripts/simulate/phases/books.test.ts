import { describe, expect, it } from 'vitest';
import { startupEndedAt } from '../../../../../scripts/simulate/phases/books';

describe('startupEndedAt (the summary\'s after-start-up latency starts there)', () => {
  it('is when the last of the lanes\' first invocations returned, whatever the order they are logged in', () => {
    const invocations = [
      { lane: 1, startedAtMs: 5_000, records: 10, ms: 4_000 },
      { lane: 0, startedAtMs: 9_500, records: 10, ms: 9_000 }, // lane 0's second: long, but not a first
      { lane: 0, startedAtMs: 5_200, records: 10, ms: 3_000 },
      { lane: 1, startedAtMs: 9_200, records: 10, ms: 500 },
    ];
    expect(startupEndedAt(invocations)).toBe(9_000);
    expect(startupEndedAt([])).toBeUndefined();
  });
});
