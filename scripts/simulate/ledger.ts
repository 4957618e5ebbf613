/**
 * Where every published reading is: the simulator's books. A reading is published by its sensor,
 * received by the broker, put on the stream, taken by the processor, and ends stored (seen in its
 * rollup item in DynamoDB), quarantined (seen in the quarantine queue, with its reason), refused
 * by the rule's action (its error action), or sent to the on-failure destination; until then it
 * is in flight. The books also hold what the alerts should be: the generator knows the level it
 * meant each valid reading to have, and the broker knows when it received it (the rule's
 * received_at, which the cooldown counts from), so the transitions, and which of them a cooldown
 * suppresses, follow from what was sent. Pure: the caller feeds events and reads the totals.
 */
import type { AlertLevel, AlertView, LatencyView, SimSnapshot, ZoneView } from './state';
import type { BadKind, Level, SensorSpec, ZoneSpec } from './traffic';

export type EntryState = 'published' | 'ingested' | 'processed' | 'stored' | 'quarantined' | 'rule-error' | 'dead-lettered';
const FINAL: ReadonlySet<EntryState> = new Set(['stored', 'quarantined', 'rule-error', 'dead-lettered']);

export interface Entry {
  sensor: number;
  n: number;
  publishedAt?: number;
  /** Reading time (ms) of a valid reading; 0 for a bad one. */
  timestampMs?: number;
  level?: Level;
  bad?: BadKind;
  congestion?: number;
  speed?: number;
  receivedAt?: number;
  sequenceNumber?: string;
  state: EntryState;
}

export interface ExpectedAlert {
  sensorId: string;
  zoneId: string;
  from: Level;
  to: Level;
  readingTime: string;
  publishedAt: number;
  received: number;
}

/** Rates (readings/s in, stored, quarantined) are measured over this span. */
const RATE_WINDOW_MS = 10_000;

export interface LedgerOptions {
  sensors: SensorSpec[];
  zones: ZoneSpec[];
  hz: number;
  scenario: string;
  cooldownMs: number;
  endToEndTargetMs: number;
  alertTargetMs: number;
  startedAt: number;
}

/**
 * Reasons grouped by kind: `field: missing`, or the reason with quoted values and numbers elided
 * and the received value cut off (`avg_speed: expected a number from N to N`).
 */
export function reasonKind(reason: string): string {
  if (reason.startsWith('not JSON')) return 'not JSON';
  const missing = /^([\w.]+): .*got nothing \(missing\)$/.exec(reason);
  if (missing) return `${missing[1]}: missing`;
  return reason
    .replace(/"[^"]*"/g, '…')
    .replace(/\d+(\.\d+)?/g, 'N')
    .split(', ')[0]!
    .trim();
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const latencyView = (samples: number[], targetMs: number): LatencyView => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), count: sorted.length, targetMs };
};

interface SensorBook {
  /** Next n whose expected alert is still to be decided. */
  nextN: number;
  level: Level;
  lastAlertAt: Partial<Record<Level, number>>;
  lastHeardAt: number;
  publishedLevel: AlertLevel;
  levelSince: number;
  lastAlertId: string;
  latestCongestion?: number;
  latestSpeed?: number;
}

export class Ledger {
  private entries = new Map<string, Entry>();
  private bySequence = new Map<string, string>();
  private books: SensorBook[];
  readonly expected = new Map<string, ExpectedAlert>();
  private alertIds = new Set<string>();
  readonly totals = { published: 0, received: 0, ingested: 0, processed: 0, stored: 0, quarantined: 0, ruleErrors: 0, deadLettered: 0, alerts: 0, duplicateAlerts: 0, unexpectedAlerts: 0 };
  readonly quarantinedByReason: Record<string, number> = {};
  /** Bad readings by kind sent, and how many of each the quarantine holds. */
  readonly badSent: Partial<Record<BadKind, number>> = {};
  readonly badQuarantined: Partial<Record<BadKind, number>> = {};
  /** Valid readings found in the quarantine, or bad readings found stored: both are bugs. */
  readonly misplaced: string[] = [];
  readonly endToEnd: number[] = [];
  readonly alertLatency: number[] = [];
  private recentAlerts: AlertView[] = [];
  private history: SimSnapshot['history'] = [];
  private lastHistory = { t: 0, published: 0, stored: 0, quarantined: 0, ingested: 0 };
  private rates = { published: 0, ingested: 0, stored: 0, quarantined: 0 };
  private readonly marks: { t: number; published: number; stored: number; quarantined: number; ingested: number }[] = [];

  constructor(private readonly options: LedgerOptions) {
    this.books = options.sensors.map(() => ({
      nextN: 1,
      level: 'NORMAL',
      lastAlertAt: {},
      lastHeardAt: options.startedAt,
      publishedLevel: 'NORMAL',
      levelSince: options.startedAt,
      lastAlertId: '',
    }));
    this.lastHistory.t = options.startedAt;
  }

  private key = (sensor: number, n: number) => `${sensor}:${n}`;

  private entry(sensor: number, n: number): Entry {
    const k = this.key(sensor, n);
    let e = this.entries.get(k);
    if (!e) {
      e = { sensor, n, state: 'published' };
      this.entries.set(k, e);
    }
    return e;
  }

  /** The fleet published a reading. */
  published(row: { sensor: number; n: number; publishedAt: number; timestampMs: number; level?: Level; bad?: BadKind; congestion: number; speed: number }): void {
    const e = this.entry(row.sensor, row.n);
    Object.assign(e, row);
    this.totals.published++;
    if (row.bad) this.badSent[row.bad] = (this.badSent[row.bad] ?? 0) + 1;
    this.decide(row.sensor);
  }

  /** The broker received a sensor's n-th message (the rule stamps this time as received_at). */
  received(sensor: number, n: number, receivedAt: number): void {
    const e = this.entry(sensor, n);
    e.receivedAt = receivedAt;
    this.totals.received++;
    this.books[sensor]!.lastHeardAt = receivedAt;
    this.decide(sensor);
  }

  /** The alerts a sensor's readings should raise, decided in the order the broker received them. */
  private decide(sensor: number): void {
    const book = this.books[sensor]!;
    const spec = this.options.sensors[sensor]!;
    for (;;) {
      const e = this.entries.get(this.key(sensor, book.nextN));
      if (!e || e.receivedAt === undefined || e.publishedAt === undefined) return;
      book.nextN++;
      if (FINAL.has(e.state)) {
        this.entries.delete(this.key(sensor, e.n));
        if (e.sequenceNumber) this.bySequence.delete(e.sequenceNumber);
      }
      if (e.bad || !e.level || e.level === book.level) continue;
      const since = book.lastAlertAt[e.level];
      if (since === undefined || e.receivedAt - since >= this.options.cooldownMs) {
        const readingTime = new Date(e.timestampMs!).toISOString();
        this.expected.set(`${spec.sensorId}|${readingTime}`, {
          sensorId: spec.sensorId,
          zoneId: spec.zoneId,
          from: book.level,
          to: e.level,
          readingTime,
          publishedAt: e.publishedAt,
          received: 0,
        });
        book.lastAlertAt[e.level] = e.receivedAt;
      }
      book.level = e.level;
    }
  }

  ingested(sensor: number, n: number, sequenceNumber: string): void {
    const e = this.entry(sensor, n);
    e.sequenceNumber = sequenceNumber;
    if (e.state === 'published') e.state = 'ingested';
    this.bySequence.set(sequenceNumber, this.key(sensor, n));
    this.totals.ingested++;
  }

  ruleError(sensor: number, n: number): void {
    this.finish(this.entry(sensor, n), 'rule-error');
    this.totals.ruleErrors++;
  }

  bySequenceNumber(sequenceNumber: string): Entry | undefined {
    const k = this.bySequence.get(sequenceNumber);
    return k ? this.entries.get(k) : undefined;
  }

  /** The processor took these records: the valid ones should now be in DynamoDB. Answers those to look for. */
  processed(sequenceNumbers: string[]): Entry[] {
    const toVerify: Entry[] = [];
    for (const seq of sequenceNumbers) {
      const e = this.bySequenceNumber(seq);
      if (!e || FINAL.has(e.state)) continue;
      if (e.state !== 'processed') this.totals.processed++;
      e.state = 'processed';
      if (!e.bad) toVerify.push(e);
    }
    return toVerify;
  }

  /** Seen in its rollup item. */
  stored(e: Entry, atMs: number): void {
    if (FINAL.has(e.state)) return;
    if (e.bad) this.misplaced.push(`${this.options.sensors[e.sensor]!.sensorId} #${e.n} (${e.bad}) was stored`);
    this.finish(e, 'stored');
    this.totals.stored++;
    if (e.publishedAt !== undefined) this.endToEnd.push(atMs - e.publishedAt);
    const book = this.books[e.sensor]!;
    book.latestCongestion = e.congestion;
    book.latestSpeed = e.speed;
  }

  /** Seen in the quarantine queue. */
  quarantined(sequenceNumber: string, reason: string): void {
    const e = this.bySequenceNumber(sequenceNumber);
    const kind = reasonKind(reason);
    if (!e || FINAL.has(e.state)) return;
    this.quarantinedByReason[kind] = (this.quarantinedByReason[kind] ?? 0) + 1;
    if (!e.bad) this.misplaced.push(`${this.options.sensors[e.sensor]!.sensorId} #${e.n} (valid) was quarantined: ${reason}`);
    else this.badQuarantined[e.bad] = (this.badQuarantined[e.bad] ?? 0) + 1;
    this.finish(e, 'quarantined');
    this.totals.quarantined++;
  }

  deadLettered(sequenceNumbers: string[]): void {
    for (const seq of sequenceNumbers) {
      const e = this.bySequenceNumber(seq);
      if (!e || FINAL.has(e.state)) continue;
      this.finish(e, 'dead-lettered');
      this.totals.deadLettered++;
    }
  }

  private finish(e: Entry, state: EntryState): void {
    e.state = state;
    // Keep the entry until its expected alert (if any) is decided; then it is only a count.
    if (this.books[e.sensor]!.nextN > e.n) {
      this.entries.delete(this.key(e.sensor, e.n));
      if (e.sequenceNumber) this.bySequence.delete(e.sequenceNumber);
    }
  }

  /** An alert the local subscriber received. */
  alert(detail: { alert_id: string; sensor_id: string; zone_id: string; level: Level; previous_level: Level; reading_time: string }, atMs: number): void {
    const duplicate = this.alertIds.has(detail.alert_id);
    this.alertIds.add(detail.alert_id);
    const want = this.expected.get(`${detail.sensor_id}|${detail.reading_time}`);
    if (duplicate || (want && want.received > 0)) this.totals.duplicateAlerts++;
    else this.totals.alerts++;
    if (!want) this.totals.unexpectedAlerts += duplicate ? 0 : 1;
    const publishedAt = want?.publishedAt ?? Date.parse(detail.reading_time);
    if (want) want.received++;
    if (!duplicate) this.alertLatency.push(atMs - publishedAt);
    const sensor = this.options.sensors.findIndex((s) => s.sensorId === detail.sensor_id);
    const book = this.books[sensor];
    if (book && !duplicate) {
      book.publishedLevel = detail.level;
      book.levelSince = atMs;
      book.lastAlertId = detail.alert_id;
    }
    this.recentAlerts.unshift({
      alertId: detail.alert_id,
      zoneId: detail.zone_id,
      from: detail.previous_level,
      to: detail.level,
      readingTime: detail.reading_time,
      receivedAt: atMs,
      latencyMs: atMs - publishedAt,
    });
    this.recentAlerts.length = Math.min(this.recentAlerts.length, 50);
  }

  /** Expected alerts not received whose reading is no longer in flight. */
  missedAlerts(): ExpectedAlert[] {
    return [...this.expected.values()].filter((a) => a.received === 0);
  }

  /** Readings the books still hold, by state: `processed` ones were taken by the processor but found nowhere yet. */
  countByState(): Partial<Record<EntryState, number>> {
    const counts: Partial<Record<EntryState, number>> = {};
    for (const e of this.entries.values()) if (!FINAL.has(e.state)) counts[e.state] = (counts[e.state] ?? 0) + 1;
    return counts;
  }

  /** Readings in a state, described (for the summary). */
  describe(state: EntryState, max: number): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) {
      if (e.state !== state) continue;
      out.push(`${this.options.sensors[e.sensor]!.sensorId} #${e.n} at ${e.timestampMs ? new Date(e.timestampMs).toISOString() : '?'} seq ${e.sequenceNumber ?? '?'}${e.bad ? ` (${e.bad})` : ''}`);
      if (out.length >= max) break;
    }
    return out;
  }

  inFlight(): number {
    const t = this.totals;
    return t.published - t.stored - t.quarantined - t.ruleErrors - t.deadLettered;
  }

  /**
   * Once a second: rates and a history point. Rates are over the last 10 s: readings are found
   * stored a batch at a time (one batching window apart), so a 1 s rate would mostly read 0.
   */
  tick(nowMs: number): void {
    const dt = (nowMs - this.lastHistory.t) / 1000;
    if (dt <= 0) return;
    const t = this.totals;
    this.marks.push({ t: nowMs, published: t.published, stored: t.stored, quarantined: t.quarantined, ingested: t.ingested });
    while (this.marks.length > 1 && nowMs - this.marks[0]!.t > RATE_WINDOW_MS) this.marks.shift();
    const from = this.marks.length > 1 ? this.marks[0]! : this.lastHistory;
    const span = Math.max(1, (nowMs - from.t) / 1000);
    this.rates = {
      published: (t.published - from.published) / span,
      ingested: (t.ingested - from.ingested) / span,
      stored: (t.stored - from.stored) / span,
      quarantined: (t.quarantined - from.quarantined) / span,
    };
    const recent = this.endToEnd.slice(-Math.max(100, Math.round(this.rates.stored * 10)));
    this.history.push({
      t: nowMs,
      published: this.rates.published,
      stored: this.rates.stored,
      quarantined: this.rates.quarantined,
      p99EndToEndMs: percentile([...recent].sort((a, b) => a - b), 99),
    });
    if (this.history.length > 300) this.history.shift();
    this.lastHistory = { t: nowMs, published: t.published, stored: t.stored, quarantined: t.quarantined, ingested: t.ingested };
  }

  /** The state now; latencies over the last `recentSamples` samples (all of them for the summary). */
  snapshot(nowMs: number, recentSamples = 20_000): SimSnapshot {
    const { sensors, zones, hz } = this.options;
    const periodMs = 1000 / hz;
    const rank: Record<AlertLevel, number> = { NORMAL: 0, WARNING: 1, CRITICAL: 2 };
    const zoneViews: ZoneView[] = zones.map((z) => ({ zoneId: z.zoneId, lat: z.lat, lon: z.lon, sensors: 0, reporting: 0, congestion: 0, speedKmh: 0, level: 'NORMAL' }));
    const sums = zones.map(() => ({ c: 0, s: 0, n: 0 }));
    const active: SimSnapshot['activeAlerts'] = [];
    const silent: SimSnapshot['silentSensors'] = [];
    sensors.forEach((spec, i) => {
      const book = this.books[i]!;
      const z = zoneViews[spec.zoneIndex]!;
      z.sensors++;
      const quiet = nowMs - book.lastHeardAt;
      if (quiet <= 3 * periodMs) z.reporting++;
      else silent.push({ sensorId: spec.sensorId, zoneId: spec.zoneId, silentForMs: quiet });
      if (book.latestCongestion !== undefined) {
        sums[spec.zoneIndex]!.c += book.latestCongestion;
        sums[spec.zoneIndex]!.s += book.latestSpeed ?? 0;
        sums[spec.zoneIndex]!.n++;
      }
      if (rank[book.publishedLevel] > rank[z.level]) z.level = book.publishedLevel;
      if (book.publishedLevel !== 'NORMAL') active.push({ zoneId: spec.zoneId, level: book.publishedLevel, since: book.levelSince, alertId: book.lastAlertId });
    });
    zoneViews.forEach((z, i) => {
      const s = sums[i]!;
      z.congestion = s.n ? Math.round((s.c / s.n) * 10) / 10 : 0;
      z.speedKmh = s.n ? Math.round((s.s / s.n) * 10) / 10 : 0;
    });
    const t = this.totals;
    return {
      startedAt: this.options.startedAt,
      now: nowMs,
      scenario: this.options.scenario,
      sensors: sensors.length,
      hz,
      zones: zoneViews,
      rates: { ...this.rates },
      totals: {
        published: t.published,
        ingested: t.ingested,
        stored: t.stored,
        quarantined: t.quarantined,
        inFlight: this.inFlight(),
        alerts: t.alerts,
        duplicateAlerts: t.duplicateAlerts,
        missedAlerts: this.missedAlerts().length,
      },
      quarantinedByReason: { ...this.quarantinedByReason },
      latency: {
        endToEnd: latencyView(this.endToEnd.slice(-recentSamples), this.options.endToEndTargetMs),
        alert: latencyView(this.alertLatency.slice(-recentSamples), this.options.alertTargetMs),
      },
      activeAlerts: active.sort((a, b) => rank[b.level] - rank[a.level] || a.since - b.since).slice(0, 200),
      recentAlerts: [...this.recentAlerts],
      silentSensors: silent.sort((a, b) => b.silentForMs - a.silentForMs).slice(0, 200),
      history: [...this.history],
    };
  }
}
