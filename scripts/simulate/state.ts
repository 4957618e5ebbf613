/**
 * The simulator's view of the running pipeline at one instant: what `npm start` prints, what
 * `--json FILE` writes, and what the dashboard polls at GET /api/state (JSON, once a second).
 * The simulator (scripts/simulate/) produces it; the dashboard (scripts/simulate/dashboard/) only
 * renders it. Times are epoch milliseconds; rates are per second over the last few seconds.
 */
export type AlertLevel = 'NORMAL' | 'WARNING' | 'CRITICAL';

export interface ZoneView {
  zoneId: string;
  /** Centre of the zone on the simulated city grid. */
  lat: number;
  lon: number;
  sensors: number;
  /** Sensors heard from in the last 3 periods. */
  reporting: number;
  /** Mean congestion_level (0-100) of the zone's latest stored readings. */
  congestion: number;
  /** Mean speed (km/h) of the zone's latest stored readings. */
  speedKmh: number;
  /** The alert level the pipeline has published for the zone (NORMAL when none). */
  level: AlertLevel;
}

export interface AlertView {
  alertId: string;
  zoneId: string;
  from: AlertLevel;
  to: AlertLevel;
  /** reading_time of the reading that crossed the threshold. */
  readingTime: string;
  /** When the local subscriber received it. */
  receivedAt: number;
  /** Publish of the crossing reading → alert received. */
  latencyMs: number;
}

export interface LatencyView {
  p50Ms: number | null;
  p99Ms: number | null;
  count: number;
  targetMs: number;
}

export interface SimSnapshot {
  startedAt: number;
  now: number;
  scenario: string;
  sensors: number;
  hz: number;
  zones: ZoneView[];
  rates: { published: number; ingested: number; stored: number; quarantined: number };
  totals: {
    published: number;
    ingested: number;
    stored: number;
    quarantined: number;
    /** Published but neither stored nor quarantined yet. */
    inFlight: number;
    alerts: number;
    duplicateAlerts: number;
    missedAlerts: number;
  };
  quarantinedByReason: Record<string, number>;
  latency: { endToEnd: LatencyView; alert: LatencyView };
  /** Zones whose published level is WARNING or CRITICAL, with when they got there. */
  activeAlerts: { zoneId: string; level: AlertLevel; since: number; alertId: string }[];
  /** Newest first, at most 50. */
  recentAlerts: AlertView[];
  /** Sensors not heard from for more than 3 periods. */
  silentSensors: { sensorId: string; zoneId: string; silentForMs: number }[];
  /** One point per second, the last 300 s at most, oldest first. */
  history: { t: number; published: number; stored: number; quarantined: number; p99EndToEndMs: number | null }[];
}
