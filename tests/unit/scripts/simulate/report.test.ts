/** The simulator's terminal lines (scripts/simulate/report.ts). */
import { describe, expect, it } from 'vitest';
import { slowestInvocations } from '../../../../scripts/simulate/report';

describe('slowestInvocations', () => {
  it('names each slowest invocation with when it started, its lane and records, and a cold start with its container start', () => {
    expect(
      slowestInvocations([
        { atSeconds: 0.4, lane: 2, records: 1424, ms: 10_705, coldStartInitMs: 412 },
        { atSeconds: 30.2, lane: 1, records: 3068, ms: 4_918 },
      ]),
    ).toBe('10.7 s at 0.4 s (lane 2, 1424 records, its first: container ready in 0.4 s); 4.9 s at 30.2 s (lane 1, 3068 records)');
  });

  it('says none when there was no invocation', () => {
    expect(slowestInvocations([])).toBe('none');
  });
});
