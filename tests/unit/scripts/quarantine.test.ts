import { describe, expect, it } from 'vitest';
import { reasonKind, summarize } from '../../../scripts/quarantine';

describe('quarantine helpers', () => {
  it('counts alike reasons together, whatever their particulars', () => {
    expect(reasonKind('timestamp: 412 s in the future, limit 300 s')).toBe('timestamp: N s in the future, limit N s');
    expect(reasonKind('not JSON: Unexpected token } in JSON at position 7')).toBe('not JSON');
    expect(reasonKind('sensor_id "a-1" does not match the publishing thing "b-2"')).toBe('sensor_id "…" does not match the publishing thing "…"');
    const s = summarize([{ reason: 'not base64', partition_key: 'a' }, { reason: 'not base64', partition_key: 'b' }, { reason: 'not base64', partition_key: 'a' }, undefined]);
    expect(s).toMatchObject({ total: 4, unreadable: 1, byKind: [{ kind: 'not base64', count: 3, sensors: 2 }], topSensors: [{ sensor: 'a', count: 2 }, { sensor: 'b', count: 1 }] });
  });
});
