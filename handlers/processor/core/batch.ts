/**
 * One batch through the pure core, in one pass over its records: each record and the sensor's
 * payload in it are decoded once (the payload's bytes kept for the raw-data lake), validated, enriched, and filed at once under its sensor
 * (for the alert state machine) and its sensor's window of reading time (for the readings sink,
 * which folds a window's readings straight into the item it writes: core/window.ts). Every record
 * ends in exactly one list: valid (and so in exactly one window) or quarantined.
 */
import type { ProcessorConfig } from '../config';
import type { ZoneStats } from './metrics';
import type { EnrichedReading, InputRecord, QuarantinedRecord } from './types';
import { Payloads } from './payloads';
import { decodeRecord, MAX_RECORD_BYTES, validateRecord, type ValidationConfig } from './validate';
import { windowStart } from './window';

/** What the core needs of the configuration, and the time the batch is analysed at. */
export interface CoreOptions {
  config: ValidationConfig & Pick<ProcessorConfig, 'rollupWindowSeconds'>;
  nowMs: number;
}

/** One sensor's valid readings of a batch. */
export interface SensorReadings {
  sensorId: string;
  /** The zone of the latest reading (a sensor that moved zones is filed under the latest). */
  zoneId: string;
  /** Readings in time order (ties keep arrival order); each knows the position of its record (recordIndex). */
  readings: EnrichedReading[];
  /** Sensor time of the newest reading. */
  lastMs: number;
  congestionSum: number;
  vehicleSum: number;
}

/**
 * One sensor's readings of a batch that fall in one window (a reading sent twice is here twice;
 * folding them counts it once, core/window.ts windowOf). Their aggregate is not built here: the readings sink folds
 * them into the window's item as it writes it (adapters/window-store.ts), one object fewer per
 * window for the batch to keep alive.
 */
export interface WindowDelta {
  sensorId: string;
  windowStartMs: number;
  readings: EnrichedReading[];
}

export interface AnalysedBatch {
  records: InputRecord[];
  /** The decoded payload of each valid record, by position (none for the quarantined): the raw-data lake's input. */
  payloads: Payloads;
  sensors: SensorReadings[];
  windows: WindowDelta[];
  /** Invalid records, with their reason and their position in `records`. */
  quarantined: (QuarantinedRecord & { index: number })[];
  zones: ZoneStats[];
  /** received_at (epoch ms) of every valid reading not replayed: latency is measured from these once stored. */
  receivedAtMs: number[];
  /** Valid readings put back on the stream long after IoT Core received them (a redrive). */
  replayed: number;
}

interface SensorState extends SensorReadings {
  ordered: boolean;
  /** The window its latest reading went to, and (rarely) its others. */
  window: WindowState | undefined;
  otherWindows: WindowState[] | undefined;
}
type WindowState = WindowDelta;

/** Validates and enriches every record, and files each valid reading under its sensor and its window. */
export function analyseBatch(records: InputRecord[], options: CoreOptions): AnalysedBatch {
  const windowSeconds = options.config.rollupWindowSeconds;
  const bySensor = new Map<string, SensorState>();
  const sensors: SensorState[] = [];
  const windows: WindowState[] = [];
  const payloads = new Payloads(records, MAX_RECORD_BYTES);
  const quarantined: AnalysedBatch['quarantined'] = [];
  const receivedAtMs: number[] = [];
  let replayed = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const decoded = decodeRecord(record, payloads, index);
    const reading = validateRecord(record, options.config, options.nowMs, index, decoded);
    if (typeof reading === 'string') {
      payloads.drop(index);
      quarantined.push({ record, reason: reading, index });
      continue;
    }
    if (reading.replayed) replayed++;
    else receivedAtMs.push(reading.received_at);

    let sensor = bySensor.get(reading.sensor_id);
    if (sensor === undefined) {
      sensor = {
        sensorId: reading.sensor_id,
        zoneId: reading.zone_id,
        readings: [],
        lastMs: reading.timestampMs,
        congestionSum: 0,
        vehicleSum: 0,
        ordered: true,
        window: undefined,
        otherWindows: undefined,
      };
      bySensor.set(reading.sensor_id, sensor);
      sensors.push(sensor);
    }
    // A sensor's readings name the same zone: one string kept for all of them.
    if (reading.zone_id === sensor.zoneId) reading.zone_id = sensor.zoneId;
    sensor.readings.push(reading);
    sensor.congestionSum += reading.congestion_index;
    sensor.vehicleSum += reading.vehicle_count;
    if (reading.timestampMs >= sensor.lastMs) {
      sensor.lastMs = reading.timestampMs;
      sensor.zoneId = reading.zone_id;
    } else {
      sensor.ordered = false;
    }

    // The window: most often the one this sensor's previous reading went to.
    const start = windowStart(reading.timestampMs, windowSeconds);
    let window = sensor.window;
    if (window === undefined) {
      // The sensor's first window shares its readings list while it is the only one.
      window = { sensorId: reading.sensor_id, windowStartMs: start, readings: sensor.readings };
      windows.push(window);
      sensor.window = window;
    } else if (window.windowStartMs !== start) {
      // A sensor's readings in two windows (a batch across a window boundary): look among its others.
      if (sensor.otherWindows === undefined) {
        // The first window's readings so far are the sensor's but this one: a list of its own from now on.
        window.readings = sensor.readings.slice(0, -1);
        sensor.otherWindows = [window];
      }
      window = sensor.otherWindows.find((w) => w.windowStartMs === start);
      if (window === undefined) {
        window = { sensorId: reading.sensor_id, windowStartMs: start, readings: [] };
        windows.push(window);
        sensor.otherWindows.push(window);
      }
      sensor.window = window;
      window.readings.push(reading);
    } else if (sensor.otherWindows !== undefined) {
      window.readings.push(reading);
    }
    // (With one window, its readings list is the sensor's, which has the reading already.)
  }

  // Indexed loops, not for…of: these run once a batch, perhaps before they are optimised, where
  // each step of an iterator is an object.
  for (let i = 0; i < sensors.length; i++) if (!sensors[i]!.ordered) sensors[i]!.readings.sort((a, b) => a.timestampMs - b.timestampMs);
  // Zone statistics from the sensors (one step per sensor rather than per reading).
  const zones = new Map<string, ZoneStats>();
  for (let i = 0; i < sensors.length; i++) {
    const s = sensors[i]!;
    const zone = zones.get(s.zoneId);
    if (zone) {
      zone.congestionSum += s.congestionSum;
      zone.vehicleSum += s.vehicleSum;
      zone.readings += s.readings.length;
    } else {
      zones.set(s.zoneId, { zoneId: s.zoneId, congestionSum: s.congestionSum, vehicleSum: s.vehicleSum, readings: s.readings.length });
    }
  }
  return { records, payloads, sensors, windows, quarantined, zones: [...zones.values()], receivedAtMs, replayed };
}
