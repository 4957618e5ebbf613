/**
 * One batch through the pure core: validate, enrich, roll up. Every record ends in exactly one
 * list: valid (and so in exactly one rollup) or quarantined.
 */
import { enrich } from './enrich';
import { groupBySensor, rollupItem, type Item, type Rollup, type RollupOptions } from './rollup';
import type { ZoneStats } from './metrics';
import type { EnrichedReading, InputRecord, QuarantinedRecord, Thresholds } from './types';
import { validateRecord, type ValidationWindow } from './validate';

export interface CoreOptions extends RollupOptions {
  thresholds: Thresholds;
  window: ValidationWindow;
}

export interface AnalysedBatch {
  rollups: Rollup[];
  /** items[i] is the DynamoDB item of rollups[i]. */
  items: Item[];
  quarantined: (QuarantinedRecord & { index: number })[];
  zones: ZoneStats[];
  /** received_at (epoch ms) of every valid reading: latency is measured from these once stored. */
  receivedAtMs: number[];
}

export function analyseBatch(records: InputRecord[], options: CoreOptions): AnalysedBatch {
  const valid: { reading: EnrichedReading; index: number }[] = [];
  const quarantined: AnalysedBatch['quarantined'] = [];
  const zones = new Map<string, ZoneStats>();
  const receivedAtMs: number[] = [];
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const result = validateRecord(record, options.window);
    if (!result.ok) {
      quarantined.push({ record, reason: result.reason, index });
      continue;
    }
    const reading = enrich(result.reading, options.thresholds);
    valid.push({ reading, index });
    receivedAtMs.push(reading.received_at);
    let zone = zones.get(reading.zone_id);
    if (!zone) {
      zone = { zoneId: reading.zone_id, congestionSum: 0, vehicleSum: 0, readings: 0 };
      zones.set(reading.zone_id, zone);
    }
    zone.congestionSum += reading.congestion_index;
    zone.vehicleSum += reading.vehicle_count;
    zone.readings++;
  }
  const rollups = groupBySensor(valid);
  return {
    rollups,
    items: rollups.map((r) => rollupItem(r, options)),
    quarantined,
    zones: [...zones.values()],
    receivedAtMs,
  };
}
