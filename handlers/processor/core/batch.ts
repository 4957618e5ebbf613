/**
 * One batch through the pure core: validate, enrich, roll up. Every record ends in exactly one
 * list: valid (and so in exactly one rollup) or quarantined.
 */
import type { ZoneStats } from './metrics';
import { addToRollup, startRollup, statIndex, type Rollup } from './rollup';
import type { InputRecord, QuarantinedRecord } from './types';
import { validateRecord, type ValidationConfig } from './validate';

/** What the core needs of the configuration, and the time the batch is analysed at. */
export interface CoreOptions {
  config: ValidationConfig;
  nowMs: number;
}

export interface AnalysedBatch {
  records: InputRecord[];
  rollups: Rollup[];
  /** Invalid records, with their reason and their position in `records`. */
  quarantined: (QuarantinedRecord & { index: number })[];
  zones: ZoneStats[];
  /** received_at (epoch ms) of every valid reading not replayed: latency is measured from these once stored. */
  receivedAtMs: number[];
  /** Valid readings put back on the stream long after IoT Core received them (a redrive). */
  replayed: number;
}

const CONGESTION_SUM = statIndex('congestion_index', 'mean');
const VEHICLE_SUM = statIndex('vehicle_count', 'sum');

/** Validates and enriches every record, rolls valid readings up per sensor, and sums them per zone. */
export function analyseBatch(records: InputRecord[], options: CoreOptions): AnalysedBatch {
  const bySensor = new Map<string, Rollup>();
  const quarantined: AnalysedBatch['quarantined'] = [];
  const receivedAtMs: number[] = [];
  let replayed = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const reading = validateRecord(record, options.config, options.nowMs, index);
    if (typeof reading === 'string') {
      quarantined.push({ record, reason: reading, index });
      continue;
    }
    const rollup = bySensor.get(reading.sensor_id);
    if (rollup) addToRollup(rollup, reading, index);
    else bySensor.set(reading.sensor_id, startRollup(reading, index));
    if (reading.replayed) replayed++;
    else receivedAtMs.push(reading.received_at);
  }
  const rollups = [...bySensor.values()];
  // Zone statistics from the rollups (one step per sensor rather than per reading).
  const zones = new Map<string, ZoneStats>();
  for (const r of rollups) {
    const congestionSum = r.stats[CONGESTION_SUM]!;
    const vehicleSum = r.stats[VEHICLE_SUM]!;
    const zone = zones.get(r.zoneId);
    if (zone) {
      zone.congestionSum += congestionSum;
      zone.vehicleSum += vehicleSum;
      zone.readings += r.readings.length;
    } else {
      zones.set(r.zoneId, { zoneId: r.zoneId, congestionSum, vehicleSum, readings: r.readings.length });
    }
  }
  return { records, rollups, quarantined, zones: [...zones.values()], receivedAtMs, replayed };
}
