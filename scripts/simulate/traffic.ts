/**
 * What the simulated city sends: the fleet's layout (zones on a grid around a city centre, sensors
 * spread over them), a daily profile of congestion compressed into a few minutes, rush-hour waves
 * that push zones over WARNING and CRITICAL and back, an incident that jams one zone, sensors that
 * send every kind of reading the processor quarantines, and sensors that go silent. Pure and
 * seeded: the same options give the same city, and the generator knows the level it meant each
 * valid reading to have, so the alerts the pipeline should raise follow from what it sent.
 */
import { exampleReading, LIMITS, type RawReading } from '../../contract';
import { prng } from '../lib/prng';

export const SCENARIOS = ['rush-hour', 'incident', 'steady'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Level = 'NORMAL' | 'WARNING' | 'CRITICAL';
export type SensorKind = 'normal' | 'bad' | 'silent';

export interface Thresholds {
  warning: number;
  critical: number;
  hysteresis: number;
}

export interface SensorSpec {
  index: number;
  sensorId: string;
  zoneId: string;
  zoneIndex: number;
  lat: number;
  lon: number;
  kind: SensorKind;
}

export interface ZoneSpec {
  zoneId: string;
  lat: number;
  lon: number;
}

export interface TrafficOptions {
  scenario: Scenario;
  thresholds: Thresholds;
  /** One wave of the rush-hour scenario (and the incident's span), seconds. */
  wavePeriodSeconds: number;
  /** A simulated day lasts this long (the daily profile). */
  daySeconds: number;
  /** Silent sensors stop publishing after this many seconds. */
  silentAfterSeconds: number;
  /** The free-text weather every reading carries ('clear' unless given: the console's test sends hostile text). */
  weatherCondition?: string;
}

/** A city centre for the grid (any plausible one). */
const CENTRE = { lat: 52.52, lon: 13.405 };
/** About 1.1 km between zone centres. */
const ZONE_SPACING_DEG = 0.01;

export function cityLayout(sensors: number, zones: number): { zones: ZoneSpec[]; sensors: SensorSpec[] } {
  const side = Math.ceil(Math.sqrt(zones));
  const zoneSpecs = Array.from({ length: zones }, (_, z) => ({
    zoneId: `zone-${String(z).padStart(2, '0')}`,
    lat: +(CENTRE.lat + (Math.floor(z / side) - (side - 1) / 2) * ZONE_SPACING_DEG).toFixed(5),
    lon: +(CENTRE.lon + ((z % side) - (side - 1) / 2) * ZONE_SPACING_DEG * 1.6).toFixed(5),
  }));
  // A few broken sensors (2%, at least one) and a few that go silent (1%, at least one in fleets of 10 or more).
  const bad = Math.max(1, Math.round(sensors * 0.02));
  const silent = sensors >= 10 ? Math.max(1, Math.round(sensors * 0.01)) : 0;
  const sensorSpecs = Array.from({ length: sensors }, (_, i): SensorSpec => {
    const zoneIndex = i % zones;
    const zone = zoneSpecs[zoneIndex]!;
    const r = prng(i + 1);
    const kind: SensorKind = i >= sensors - bad ? 'bad' : i >= sensors - bad - silent ? 'silent' : 'normal';
    return {
      index: i,
      sensorId: `sensor-${String(i).padStart(5, '0')}`,
      zoneId: zone.zoneId,
      zoneIndex,
      lat: +(zone.lat + (r() - 0.5) * ZONE_SPACING_DEG * 0.8).toFixed(6),
      lon: +(zone.lon + (r() - 0.5) * ZONE_SPACING_DEG * 1.2).toFixed(6),
      kind,
    };
  });
  return { zones: zoneSpecs, sensors: sensorSpecs };
}


/** Congestion of a normal moment in the daily profile (0-1): peaks at 08:00 and 17:30. */
export function dailyProfile(hour: number): number {
  const peak = (h: number, at: number, width: number) => {
    const d = ((h - at + 36) % 24) - 12;
    return Math.exp(-(d * d) / (2 * width * width));
  };
  return Math.min(1, 0.15 + 0.55 * peak(hour, 8, 1.5) + 0.5 * peak(hour, 17.5, 2));
}

/** The level the scenario puts a zone at, `t` seconds into the run. */
export function zoneLevel(options: Pick<TrafficOptions, 'scenario' | 'wavePeriodSeconds'>, zoneIndex: number, zones: number, t: number): Level {
  const period = options.wavePeriodSeconds;
  const wave = Math.floor(t / period);
  const phase = (t % period) / period;
  if (options.scenario === 'rush-hour') {
    // A third of the zones (a different third each wave) climb to WARNING, then CRITICAL, and back.
    if ((zoneIndex + wave) % 3 !== 0) return 'NORMAL';
    if (phase < 0.15 || phase >= 0.7) return 'NORMAL';
    if (phase < 0.35 || phase >= 0.55) return 'WARNING';
    return 'CRITICAL';
  }
  if (options.scenario === 'incident') {
    // An incident jams one zone (a different one each period) at once, then clears.
    return zoneIndex === wave % zones && phase >= 0.1 && phase < 0.6 ? 'CRITICAL' : 'NORMAL';
  }
  return 'NORMAL';
}

/** Highest index of each band, chosen so that the level after a reading is the band's whatever came before (hysteresis). */
export function bands(t: Thresholds): Record<Level, [number, number]> {
  const normalMax = Math.max(0, t.warning - t.hysteresis - 1);
  const warningMax = Math.max(t.warning + 1, t.critical - t.hysteresis);
  return { NORMAL: [0, normalMax], WARNING: [t.warning + 1, warningMax], CRITICAL: [t.critical + 1, 100] };
}

/** Every kind of bad reading the processor quarantines (handlers/processor/core/validate.ts, contract/reading.ts). */
export const BAD_KINDS = [
  'not-json',
  'missing-field',
  'negative-count',
  'speed-too-high',
  'congestion-out-of-range',
  'future-timestamp',
  'stale-timestamp',
  'impossible-date',
  'oversize',
  'wrong-sensor-id',
  'bad-zone-id',
  // A well-formed zone that is not the one the registry has for the sensor (the rule adds the registry zones).
  'not-registry-zone',
] as const;
export type BadKind = (typeof BAD_KINDS)[number];

/** What a sensor sends: the contract's reading (the topic rule's facts are not part of it); the optional fields always sent. */
export type Reading = RawReading & Required<Pick<RawReading, 'temperature' | 'weather_condition'>>;

export interface Published {
  /** The MQTT payload. */
  payload: string;
  /** The level the reading was meant to have (valid readings only). */
  level?: Level;
  bad?: BadKind;
  congestion?: number;
  speed?: number;
}

/** The reading a sensor sends at `nowMs`, `t` seconds into the run, its `n`-th (from 1). */
export function reading(sensor: SensorSpec, zones: number, options: TrafficOptions, t: number, nowMs: number, n: number, random: () => number): Published {
  const hour = ((t / options.daySeconds) * 24 + 6) % 24;
  const level = zoneLevel(options, sensor.zoneIndex, zones, t);
  const [lo, hi] = bands(options.thresholds)[level];
  const base = level === 'NORMAL' ? 10 + (hi - 10) * dailyProfile(hour) * (0.8 + 0.2 * random()) : lo + (hi - lo) * random();
  const congestion = Math.round(Math.min(hi, Math.max(lo, base)) * 10) / 10;
  const speed = Math.round(Math.max(3, 70 * (1 - congestion / 110)) * 10) / 10;
  const r: Reading = exampleReading({
    sensor_id: sensor.sensorId,
    zone_id: sensor.zoneId,
    timestamp: new Date(nowMs).toISOString(),
    vehicle_count: Math.round(2 + congestion / 4 + random() * 3),
    avg_speed: speed,
    congestion_index: congestion,
    temperature: 12,
    weather_condition: options.weatherCondition ?? 'clear',
  });
  if (sensor.kind !== 'bad') return { payload: JSON.stringify(r), level, congestion, speed };
  const bad = BAD_KINDS[(n - 1 + sensor.index) % BAD_KINDS.length]!;
  return { payload: badPayload(bad, r, nowMs), bad };
}

function badPayload(kind: BadKind, r: Reading, nowMs: number): string {
  const json = (o: object) => JSON.stringify(o);
  switch (kind) {
    case 'not-json':
      return json(r).slice(0, 40);
    case 'missing-field': {
      const { congestion_index: _, ...rest } = r;
      return json(rest);
    }
    case 'negative-count':
      return json({ ...r, vehicle_count: -3 });
    case 'speed-too-high':
      return json({ ...r, avg_speed: LIMITS.maxSpeedKmh + 100 });
    case 'congestion-out-of-range':
      return json({ ...r, congestion_index: 140 });
    case 'future-timestamp':
      return json({ ...r, timestamp: new Date(nowMs + 3_600_000).toISOString() });
    case 'stale-timestamp':
      return json({ ...r, timestamp: new Date(nowMs - 30 * 86_400_000).toISOString() });
    case 'impossible-date':
      return json({ ...r, timestamp: '2026-02-30T10:00:00.000Z' });
    case 'oversize':
      return json({ ...r, note: 'x'.repeat(LIMITS.maxReadingBytes + 200) });
    case 'wrong-sensor-id':
      return json({ ...r, sensor_id: 'sensor-99999' });
    case 'bad-zone-id':
      return json({ ...r, zone_id: 'zone#7' });
    case 'not-registry-zone':
      return json({ ...r, zone_id: `${r.zone_id}-elsewhere` });
  }
}
