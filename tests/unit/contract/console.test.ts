/** console.ts: the sensor status as the processor encodes it and the console decodes it. */
import { describe, expect, it } from 'vitest';
import { decodeSensorStatus, encodeSensorStatus } from '../../../contract';

const T = Date.now() - 10_000;

describe('encodeSensorStatus / decodeSensorStatus', () => {
  it('round-trips a status and refuses anything that is not one', () => {
    const status = { zoneId: 'Z-3', congestionIndex: 87.5, vehicleCount: 12, avgSpeedKmh: 31.25, receivedAtMs: T, readingAtMs: T - 400 };
    expect(decodeSensorStatus('s1', encodeSensorStatus(status))).toEqual({ sensorId: 's1', ...status });
    for (const bad of ['', 'Z|1|2|3|4', '|1|2|3|4|5', 'Z|x|2|3|4|5', 'Z|1|2|3|4|5|6']) expect(decodeSensorStatus('s1', bad), bad).toBeUndefined();
  });
});
