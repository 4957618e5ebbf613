/**
 * A stand-in for the simulator when developing or testing the dashboard: SimSnapshots that evolve
 * with the clock, one step per second, deterministic for a given seed and clock. A fleet publishes
 * at its rate, readings move through ingestion and processing (so some are in flight), a small share
 * is quarantined with the processor's kinds of reasons, zones drift with a slow wave, and a scripted
 * incident takes one zone to WARNING `alertAfterMs` after the start, to CRITICAL 2 s later, holds it
 * there for a minute, then clears (and repeats every two minutes); a rush-hour wave holds a second
 * zone at WARNING for 30 s from 5 s after the incident starts. Two sensors fall silent early.
 * Nothing here pretends to be the pipeline: it only exercises every part of the page.
 */
import type { AlertLevel, AlertView, SimSnapshot, ZoneView } from '../state.js';
import { prng } from '../../lib/prng';

export interface FakeSimulationOptions {
  /** Zones on a square-ish grid. Default 16 (4 × 4). */
  zones?: number;
  /** Default 25. */
  sensorsPerZone?: number;
  /** Readings per sensor per second. Default 1. */
  hz?: number;
  /** When the scripted incident first raises an alert. Default 4000 ms. */
  alertAfterMs?: number;
  /** Default 1. */
  seed?: number;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** Overrides zone ids (index i names zone i); for tests of how the page treats odd ids. */
  zoneIds?: string[];
}

export class FakeSimulationOptionsError extends Error {
  override name = 'FakeSimulationOptionsError';
}

const STEP_MS = 1000;
const HISTORY_POINTS = 300; // state.ts: the last 300 s at most
const RECENT_ALERTS = 50; // state.ts: at most 50
/** The processor's default thresholds (template/parameters.ts: warningThreshold 80, criticalThreshold 90). */
const WARNING_ABOVE = 80;
const CRITICAL_ABOVE = 90;
const INCIDENT_PERIOD_STEPS = 120;
const INCIDENT_CRITICAL_STEPS = 60;
/** Roughly the shares a fleet with a few bad sensors produces, by the processor's reason kinds. */
const QUARANTINE_REASONS: [reason: string, weight: number][] = [
  ['schema: congestion_level out of range', 4],
  ['timestamp: in the future', 2],
  ['not JSON', 1],
  ['sensor_id does not match the publishing thing', 1],
  ['oversize', 0.5],
];
/** City centre of the simulated grid and the spacing of zone centres (about 1.1 km). */
const ORIGIN = { lat: 52.37, lon: 4.89 };
const ZONE_SPACING_DEG = 0.01;


function levelOf(congestion: number): AlertLevel {
  if (congestion > CRITICAL_ABOVE) return 'CRITICAL';
  if (congestion > WARNING_ABOVE) return 'WARNING';
  return 'NORMAL';
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function validate(o: Required<Omit<FakeSimulationOptions, 'zoneIds'>> & { zoneIds?: string[] }): void {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) problems.push(`${name}: got ${v}, expected an integer ≥ 1`);
  };
  positiveInt('zones', o.zones);
  positiveInt('sensorsPerZone', o.sensorsPerZone);
  if (!(o.hz > 0)) problems.push(`hz: got ${o.hz}, expected > 0`);
  if (!(o.alertAfterMs >= 0)) problems.push(`alertAfterMs: got ${o.alertAfterMs}, expected ≥ 0`);
  if (o.zoneIds && o.zoneIds.length < o.zones) {
    problems.push(`zoneIds: got ${o.zoneIds.length}, expected at least one per zone (${o.zones})`);
  }
  if (problems.length > 0) throw new FakeSimulationOptionsError(`createFakeSimulation: ${problems.join('; ')}`);
}

/** Returns a snapshot function for {@link startDashboard}: each call advances to the clock. */
export function createFakeSimulation(options: FakeSimulationOptions = {}): () => SimSnapshot {
  const o = {
    zones: 16,
    sensorsPerZone: 25,
    hz: 1,
    alertAfterMs: 4000,
    seed: 1,
    now: Date.now,
    ...options,
  };
  validate(o);
  const random = prng(o.seed);
  const startedAt = o.now();
  const columns = Math.ceil(Math.sqrt(o.zones));
  const sensors = o.zones * o.sensorsPerZone;
  const periodMs = 1000 / o.hz;

  const zones: (ZoneView & { base: number; phase: number; levelSince: number; levelAlertId: string })[] = [];
  for (let i = 0; i < o.zones; i++) {
    const row = Math.floor(i / columns);
    const column = i % columns;
    zones.push({
      zoneId: o.zoneIds?.[i] ?? `Z${String(i + 1).padStart(2, '0')}`,
      lat: Number((ORIGIN.lat - row * ZONE_SPACING_DEG).toFixed(4)),
      lon: Number((ORIGIN.lon + column * ZONE_SPACING_DEG).toFixed(4)),
      sensors: o.sensorsPerZone,
      reporting: o.sensorsPerZone,
      congestion: 0,
      speedKmh: 0,
      level: 'NORMAL',
      base: 25 + random() * 30,
      phase: random(),
      levelSince: startedAt,
      levelAlertId: '',
    });
  }
  // The scripted incident: a zone near the middle of the grid.
  const incidentZone = zones[Math.min(zones.length - 1, Math.floor(columns / 2) * columns + Math.floor(columns / 2))]!;
  const incidentStartStep = Math.ceil(o.alertAfterMs / STEP_MS);
  // A rush-hour wave: another zone (when there is one) rises to WARNING 5 s after the incident starts, for 30 s.
  const rushZone = zones.length > 1 ? zones[(zones.indexOf(incidentZone) + columns + 1) % zones.length]! : null;
  // Two sensors fall silent: one at 3 s, one at 6 s.
  const silent = [
    { sensorId: `${zones[0]!.zoneId}-s003`, zone: zones[0]!, fromStep: 3 },
    { sensorId: `${zones[zones.length - 1]!.zoneId}-s011`, zone: zones[zones.length - 1]!, fromStep: 6 },
  ];

  const totals: SimSnapshot['totals'] = {
    published: 0, ingested: 0, stored: 0, quarantined: 0, inFlight: 0, alerts: 0, duplicateAlerts: 0, missedAlerts: 0,
  };
  const quarantinedByReason: Record<string, number> = {};
  const history: SimSnapshot['history'] = [];
  const recentAlerts: AlertView[] = [];
  const alertLatencies: number[] = [];
  const endToEndSamples: number[] = []; // a rolling sample, like the simulator's reservoir
  let endToEndCount = 0;
  let rates: SimSnapshot['rates'] = { published: 0, ingested: 0, stored: 0, quarantined: 0 };
  let awaitingIngestion = 0;
  let awaitingProcessing = 0;
  let step = 0;

  function incidentCongestion(s: number): number | null {
    const k = s - incidentStartStep;
    if (k < 0) return null;
    const inCycle = k % INCIDENT_PERIOD_STEPS;
    if (inCycle < 2) return 84 + random() * 4; // WARNING first
    if (inCycle < 2 + INCIDENT_CRITICAL_STEPS) return 93 + random() * 5;
    if (inCycle < 2 + INCIDENT_CRITICAL_STEPS + 10) return 82 + random() * 5;
    return null;
  }

  function rushCongestion(s: number): number | null {
    const k = (s - incidentStartStep - 5) % INCIDENT_PERIOD_STEPS;
    return s - incidentStartStep - 5 >= 0 && k < 30 ? 82 + random() * 6 : null;
  }

  function advance(): void {
    step += 1;
    const t = startedAt + step * STEP_MS;
    const reportingSensors = sensors - silent.filter((s) => step >= s.fromStep).length;

    const published = Math.round(reportingSensors * o.hz * (0.97 + random() * 0.06));
    awaitingIngestion += published;
    const ingested = Math.round(awaitingIngestion * (0.8 + random() * 0.15));
    awaitingIngestion -= ingested;
    awaitingProcessing += ingested;
    const processed = Math.round(awaitingProcessing * (0.6 + random() * 0.3));
    awaitingProcessing -= processed;
    const quarantined = Math.min(processed, Math.round(processed * 0.004 + random() * 2));
    const stored = processed - quarantined;

    const weightSum = QUARANTINE_REASONS.reduce((sum, [, w]) => sum + w, 0);
    for (let i = 0; i < quarantined; i++) {
      let pick = random() * weightSum;
      const [reason] = QUARANTINE_REASONS.find(([, w]) => (pick -= w) < 0) ?? QUARANTINE_REASONS[0]!;
      quarantinedByReason[reason] = (quarantinedByReason[reason] ?? 0) + 1;
    }

    totals.published += published;
    totals.ingested += ingested;
    totals.stored += stored;
    totals.quarantined += quarantined;
    totals.inFlight = awaitingIngestion + awaitingProcessing;
    rates = { published, ingested, stored, quarantined };

    for (let i = 0; i < 20; i++) endToEndSamples.push(1500 + random() * 2500 + (random() < 0.05 ? random() * 4000 : 0));
    endToEndSamples.splice(0, Math.max(0, endToEndSamples.length - 2000));
    endToEndCount += stored;

    for (const zone of zones) {
      const wave = 15 * Math.sin(2 * Math.PI * (step / 90 + zone.phase));
      const scripted = zone === incidentZone ? incidentCongestion(step) : zone === rushZone ? rushCongestion(step) : null;
      zone.congestion = Math.max(0, Math.min(100, scripted ?? zone.base + wave + (random() - 0.5) * 4));
      zone.speedKmh = Math.max(3, 65 * (1 - zone.congestion / 110) + (random() - 0.5) * 3);
      zone.reporting = zone.sensors - silent.filter((s) => s.zone === zone && step >= s.fromStep).length;
      const level = levelOf(zone.congestion);
      if (level !== zone.level) {
        const latencyMs = Math.round(4000 + random() * 9000);
        const alert: AlertView = {
          alertId: `fake-${String(totals.alerts + 1).padStart(4, '0')}`,
          zoneId: zone.zoneId,
          from: zone.level,
          to: level,
          readingTime: new Date(t - latencyMs).toISOString(),
          receivedAt: t,
          latencyMs,
        };
        recentAlerts.unshift(alert);
        recentAlerts.splice(RECENT_ALERTS);
        alertLatencies.push(latencyMs);
        totals.alerts += 1;
        zone.level = level;
        zone.levelSince = t;
        zone.levelAlertId = alert.alertId;
      }
    }

    const sorted = [...endToEndSamples].sort((a, b) => a - b);
    history.push({ t, published, stored, quarantined, p99EndToEndMs: Math.round(percentile(sorted, 99)!) });
    history.splice(0, Math.max(0, history.length - HISTORY_POINTS));
  }

  return function snapshot(): SimSnapshot {
    const now = o.now();
    const due = Math.floor((now - startedAt) / STEP_MS);
    // After a long pause (a laptop asleep), skip ahead rather than replay hours of steps.
    if (due - step > HISTORY_POINTS) step = due - HISTORY_POINTS;
    while (step < due) advance();

    const endToEnd = [...endToEndSamples].sort((a, b) => a - b);
    const alert = [...alertLatencies].sort((a, b) => a - b);
    const round = (v: number | null) => (v === null ? null : Math.round(v));
    return {
      startedAt,
      now,
      scenario: 'fake',
      sensors,
      hz: o.hz,
      zones: zones.map(({ zoneId, lat, lon, sensors: n, reporting, congestion, speedKmh, level }) => ({
        zoneId, lat, lon, sensors: n, reporting,
        congestion: Math.round(congestion * 10) / 10,
        speedKmh: Math.round(speedKmh * 10) / 10,
        level,
      })),
      rates: { ...rates },
      totals: { ...totals },
      quarantinedByReason: { ...quarantinedByReason },
      latency: {
        endToEnd: { p50Ms: round(percentile(endToEnd, 50)), p99Ms: round(percentile(endToEnd, 99)), count: endToEndCount, targetMs: 10_000 },
        alert: { p50Ms: round(percentile(alert, 50)), p99Ms: round(percentile(alert, 99)), count: alert.length, targetMs: 30_000 },
      },
      activeAlerts: zones
        .filter((z) => z.level !== 'NORMAL')
        .map((z) => ({ zoneId: z.zoneId, level: z.level, since: z.levelSince, alertId: z.levelAlertId })),
      recentAlerts: recentAlerts.map((a) => ({ ...a })),
      silentSensors: silent
        .map((s) => ({ sensorId: s.sensorId, zoneId: s.zone.zoneId, silentForMs: Math.max(0, now - (startedAt + s.fromStep * STEP_MS)) }))
        .filter((s) => s.silentForMs > 3 * periodMs),
      history: history.map((h) => ({ ...h })),
    };
  };
}
