/** Values derived from one reading (validateRecord builds them into the reading). Pure. */
import type { Level, Thresholds } from './types';

/** Speed at which a urban road flows freely; faster adds nothing to the flow score. */
export const FREE_FLOW_SPEED_KMH = 60;

/**
 * traffic_flow_score, 0–100: how freely traffic moves past the sensor.
 *   score = 100 × min(avg_speed / 60 km/h, 1) × (1 − congestion_index / 100)
 * 100 = free flow (≥ 60 km/h, no congestion); 0 = standstill or full congestion.
 * Rounded to one decimal.
 */
export function trafficFlowScore(avgSpeedKmh: number, congestionIndex: number): number {
  const speedFactor = Math.min(avgSpeedKmh / FREE_FLOW_SPEED_KMH, 1);
  return Math.round(1000 * speedFactor * (1 - congestionIndex / 100)) / 10;
}

/** The level a single reading is at (no hysteresis: that belongs to the alert state machine). */
export function congestionLevel(congestionIndex: number, thresholds: Thresholds): Level {
  if (congestionIndex > thresholds.critical) return 'CRITICAL';
  if (congestionIndex > thresholds.warning) return 'WARNING';
  return 'NORMAL';
}
