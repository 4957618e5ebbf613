/** The processor's domain types. The reading's own fields are declared once, in contract/reading.ts. */
import type { RawReading } from '../../../contract';

export const LEVELS = ['NORMAL', 'WARNING', 'CRITICAL'] as const;
export type Level = (typeof LEVELS)[number];
export const levelRank = (level: Level): number => LEVELS.indexOf(level);

/** A validated sensor reading, as the IoT rule delivered it. */
export type Reading = Omit<RawReading, 'received_at'> & {
  /** `timestamp` (the sensor's clock, ISO-8601) in epoch milliseconds. */
  timestampMs: number;
  /** Server receive time (IoT rule `timestamp()`), epoch ms: the clock latency is measured from. */
  received_at: number;
};

/** A reading with the values the processor derives from it. */
export interface EnrichedReading extends Reading {
  traffic_flow_score: number;
  congestion_level: Level;
  /** Put back on the stream long after IoT Core received it (a redrive): left out of the latency SLOs. */
  replayed: boolean;
  /** Position of its record in the batch, to report it for retry. */
  recordIndex: number;
}

/** One Kinesis record as the core sees it: its payload and where it came from. */
export interface InputRecord {
  /** Kinesis sequence number: the identity reported back for retry. */
  sequenceNumber: string;
  partitionKey: string;
  /** Base64 payload, as in the Lambda event. */
  data: string;
  /** Kinesis arrival time, epoch ms: the fallback receive time. */
  approximateArrivalMs: number;
  shardId: string;
  /** Set by validation for a valid reading: the sensor's payload (base64, as the rule wrote it) and the receive time. */
  payload?: string;
  receivedAtMs?: number;
}

/** A record that failed validation: quarantined with its reason, never retried. */
export interface QuarantinedRecord {
  record: InputRecord;
  reason: string;
}

export interface Thresholds {
  warning: number;
  critical: number;
  /** A level is left only when the index falls this many points below its threshold. */
  hysteresis: number;
}
