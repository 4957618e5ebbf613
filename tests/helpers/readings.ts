/** Enriched readings for core tests, derived exactly as validateRecord derives them. */
import { congestionLevel, trafficFlowScore } from '../../handlers/processor/core/enrich';
import type { EnrichedReading, Reading, Thresholds } from '../../handlers/processor/core/types';

export const enrich = (reading: Reading, thresholds: Thresholds): EnrichedReading => ({
  ...reading,
  traffic_flow_score: trafficFlowScore(reading.avg_speed, reading.congestion_index),
  congestion_level: congestionLevel(reading.congestion_index, thresholds),
  replayed: false,
  recordIndex: -1,
});
