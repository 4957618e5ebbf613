/** Enriched readings for core tests, derived exactly as validateRecord derives them. */
import { congestionLevel, trafficFlowScore } from '../../handlers/processor/core/enrich';
import { addToRollup, startRollup, type Rollup } from '../../handlers/processor/core/rollup';
import type { EnrichedReading, Reading, Thresholds } from '../../handlers/processor/core/types';

export const enrich = (reading: Reading, thresholds: Thresholds): EnrichedReading => ({
  ...reading,
  traffic_flow_score: trafficFlowScore(reading.avg_speed, reading.congestion_index),
  congestion_level: congestionLevel(reading.congestion_index, thresholds),
  replayed: false,
});

/** Groups readings by sensor the way analyseBatch does as it validates. */
export function groupBySensor(readings: { reading: EnrichedReading; index: number }[]): Rollup[] {
  const bySensor = new Map<string, Rollup>();
  for (const { reading, index } of readings) {
    const rollup = bySensor.get(reading.sensor_id);
    if (rollup) addToRollup(rollup, reading, index);
    else bySensor.set(reading.sensor_id, startRollup(reading, index));
  }
  return [...bySensor.values()];
}
