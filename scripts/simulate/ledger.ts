/**
 * Where every published reading is: the simulator's books. A reading is published by its sensor,
 * received by the broker (which ties the message to the fleet's reading by its payload, and counts
 * a message the fleet did not send as external: its fate is followed like any other's), put on the stream, taken by the processor, and ends stored (seen in its
 * rollup item in DynamoDB), quarantined (seen in the quarantine queue, with its reason), refused
 * by the rule's action (its error action), or sent to the on-failure destination; until then it
 * is in flight. The books also hold what the alerts should be: the generator knows the level it
 * meant each valid reading to have, and the broker knows when it received it (the rule's
 * received_at, which the cooldown counts from), so the transitions, and which of them a cooldown
 * suppresses, follow from what was sent. Pure: the caller feeds events and reads the totals.
 */
import type { AlertLevel, AlertView, LatencyView, SimSnapshot, ZoneView } from './state';
import { createHash } from 'node:crypto';
import { nextLevel } from '../../handlers/processor/core/alerts';
import type { BadKind, Level, SensorSpec, Thresholds, ZoneSpec } from './traffic';

/** The hash the books tie a message to its reading by (the fleet and the broker compute it alike). */
export const payloadHash = (payload: string | Buffer): string => createHash('sha1').update(payload).digest('base64url').slice(0, 16);

export type EntryState = 'published' | 'received' | 'ingested' | 'processed' | 'stored' | 'quarantined' | 'rule-error' | 'dead-lettered';
const FINAL: ReadonlySet<EntryState> = new Set(['stored', 'quarantined', 'rule-error', 'dead-lettered']);

/**
 * Where a message the broker took came from, when not from the fleet: a client outside the fleet
 * (mosquitto_pub with an exported certificate, a test), or a second copy of a fleet reading (MQTT
 * QoS 1 resends an unacknowledged publish after a reconnect, for example when its client id was
 * taken over).
 */
export type ExternalKind = 'outside the fleet' | 'repeat of a fleet reading';

export interface Entry {
  /** The fleet's index of the publishing thing; -1 for a thing outside the fleet. */
  sensor: number;
  thing: string;
  /** The fleet's reading number (fleet readings only). */
  n?: number;
  /** Hash of the MQTT payload: what ties a message the broker took to the fleet reading it is. */
  hash?: string;
  external?: ExternalKind;
  /** Received on a fleet connection, the fleet's report of it not in yet. */
  awaitingReport?: boolean;
  publishedAt?: number;
  /** Reading time (ms) of a valid reading; 0 for a bad one. */
  timestampMs?: number;
  level?: Level;
  bad?: BadKind;
  congestion?: number;
  speed?: number;
  receivedAt?: number;
  sequenceNumber?: string;
  /**
   * When the invocation that took it returned (the event source mapping's checkpoint): its window
   * write had answered by then, so the reading was in DynamoDB from that moment at the latest.
   */
  processedAt?: number;
  state: EntryState;
}

/** What the processor's own validation makes of a message from outside the fleet (its reading time and congestion when valid). */
export interface ExternalReading {
  valid: boolean;
  timestampMs?: number;
  congestion?: number;
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
  /** The alert thresholds: the level a reading from outside the fleet gives its sensor. */
  thresholds?: Thresholds;
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
  /** Messages of the sensor in the order the broker received them, not yet decided. */
  order: Entry[];
  level: Level;
  /** The newest reading time decided: a reading not newer moves no alert (the processor counts it in AlertsStale). */
  newestMs: number;
  lastAlertAt: Partial<Record<Level, number>>;
  lastHeardAt: number;
  publishedLevel: AlertLevel;
  levelSince: number;
  lastAlertId: string;
  latestCongestion?: number;
  latestSpeed?: number;
}

/**
 * A Kinesis record's key in the books: its shard and its sequence number. A sequence number is
 * unique only within its shard (moto numbers each shard's records 1, 2, 3…), so a stream of several
 * shards booked by sequence number alone confused its shards' records (half the readings of a
 * two-shard run were "in flight" for ever).
 */
export const recordKey = (shardId: string, sequenceNumber: string): string => `${shardId}/${sequenceNumber}`;

export class Ledger {
  private entries = new Set<Entry>();
  private bySequence = new Map<string, Entry>();
  /** Fleet readings published, not yet received by the broker, by sensor and payload hash (oldest first). */
  private pending = new Map<string, Entry[]>();
  /** Messages received on fleet connections whose fleet report is not in yet, by sensor and payload hash. */
  private unmatched = new Map<string, Entry[]>();
  /**
   * The processor's quarantine verdicts (from its log) for records it has not been seen to take yet,
   * or whose fleet report is not in yet.
   */
  private verdicts = new Map<string, string>();
  /**
   * Readings the processor took before the fleet's report said what they are (valid, with a reading
   * time to look up): found once the report came, for the books' next lookup (`takeLateToVerify`).
   */
  private lateToVerify: Entry[] = [];
  private books: SensorBook[];
  private readonly indexOf: Map<string, number>;
  readonly expected = new Map<string, ExpectedAlert>();
  private alertIds = new Set<string>();
  readonly totals = {
    published: 0,
    external: 0,
    received: 0,
    ingested: 0,
    processed: 0,
    stored: 0,
    quarantined: 0,
    ruleErrors: 0,
    deadLettered: 0,
    alerts: 0,
    duplicateAlerts: 0,
    unexpectedAlerts: 0,
  };
  /** Readings from outside the fleet by kind, and where they ended. */
  readonly externalByKind: Partial<Record<ExternalKind, number>> = {};
  readonly externalOutcome = { stored: 0, quarantined: 0 };
  readonly quarantinedByReason: Record<string, number> = {};
  /** Bad readings by kind sent, and how many of each the quarantine holds. */
  readonly badSent: Partial<Record<BadKind, number>> = {};
  readonly badQuarantined: Partial<Record<BadKind, number>> = {};
  /** Valid fleet readings found in the quarantine, or bad fleet readings found stored: both are bugs. */
  readonly misplaced: string[] = [];
  readonly endToEnd: number[] = [];
  /** When each reading of `endToEnd` was published, sample by sample. */
  readonly endToEndPublishedAt: number[] = [];
  readonly alertLatency: number[] = [];
  private recentAlerts: AlertView[] = [];
  private history: SimSnapshot['history'] = [];
  private lastHistory = { t: 0, published: 0, stored: 0, quarantined: 0, ingested: 0 };
  private rates = { published: 0, ingested: 0, stored: 0, quarantined: 0 };
  private readonly marks: { t: number; published: number; stored: number; quarantined: number; ingested: number }[] = [];

  constructor(private readonly options: LedgerOptions) {
    this.books = options.sensors.map(() => ({
      order: [],
      level: 'NORMAL',
      newestMs: 0,
      lastAlertAt: {},
      lastHeardAt: options.startedAt,
      publishedLevel: 'NORMAL',
      levelSince: options.startedAt,
      lastAlertId: '',
    }));
    this.indexOf = new Map(options.sensors.map((s, i) => [s.sensorId, i]));
    this.lastHistory.t = options.startedAt;
  }

  private static key = (sensor: number, hash: string) => `${sensor}|${hash}`;

  private static push(map: Map<string, Entry[]>, key: string, e: Entry): void {
    const queue = map.get(key);
    if (queue) queue.push(e);
    else map.set(key, [e]);
  }

  private static shift(map: Map<string, Entry[]>, key: string): Entry | undefined {
    const queue = map.get(key);
    const e = queue?.shift();
    if (queue && queue.length === 0) map.delete(key);
    return e;
  }

  /** The fleet published a reading (its report may come before or after the broker took it). */
  published(row: { sensor: number; n: number; hash: string; publishedAt: number; timestampMs: number; level?: Level; bad?: BadKind; congestion: number; speed: number }): void {
    const key = Ledger.key(row.sensor, row.hash);
    const received = Ledger.shift(this.unmatched, key);
    const e: Entry = received ?? { sensor: row.sensor, thing: this.options.sensors[row.sensor]!.sensorId, state: 'published' };
    Object.assign(e, row);
    e.awaitingReport = false;
    this.entries.add(e);
    this.totals.published++;
    if (row.bad) this.badSent[row.bad] = (this.badSent[row.bad] ?? 0) + 1;
    if (received) {
      this.decide(row.sensor);
      this.taken(e);
    } else Ledger.push(this.pending, key, e);
  }

  /**
   * The broker took a message for the rule: from a fleet connection (it is the fleet reading with
   * the same payload, whose report may still be on its way), or from outside the fleet (counted as
   * external, its fate followed like any other). Answers the entry the rule's record belongs to.
   */
  received(message: { thing: string; hash: string; receivedAt: number; fromFleet: boolean; reading?: ExternalReading }): Entry {
    const sensor = this.indexOf.get(message.thing) ?? -1;
    this.totals.received++;
    let e: Entry | undefined;
    if (sensor >= 0 && message.fromFleet) {
      const key = Ledger.key(sensor, message.hash);
      e = Ledger.shift(this.pending, key);
      if (!e) {
        e = { sensor, thing: message.thing, hash: message.hash, awaitingReport: true, state: 'received' };
        Object.assign(e, this.externalFields(message.reading));
        Ledger.push(this.unmatched, key, e);
        this.entries.add(e);
      }
    } else {
      e = { sensor, thing: message.thing, hash: message.hash, state: 'received', ...this.externalFields(message.reading) };
      this.entries.add(e);
      this.countExternal(e, 'outside the fleet');
    }
    e.receivedAt = message.receivedAt;
    if (e.state === 'published') e.state = 'received';
    if (sensor >= 0) {
      this.books[sensor]!.lastHeardAt = message.receivedAt;
      this.books[sensor]!.order.push(e);
      this.decide(sensor);
    }
    return e;
  }

  private externalFields(reading: ExternalReading | undefined): Partial<Entry> {
    return reading?.valid ? { timestampMs: reading.timestampMs, congestion: reading.congestion } : { timestampMs: 0 };
  }

  private countExternal(e: Entry, kind: ExternalKind): void {
    e.external = kind;
    this.totals.external++;
    this.externalByKind[kind] = (this.externalByKind[kind] ?? 0) + 1;
  }

  /**
   * Messages from fleet connections that no fleet report claimed within `graceMs` are second copies
   * of fleet readings (QoS 1 resends): external. With `graceMs` 0 (the fleet has stopped and
   * reported everything), all of them.
   */
  settle(nowMs: number, graceMs: number): void {
    for (const [key, queue] of [...this.unmatched]) {
      while (queue.length > 0 && queue[0]!.receivedAt! <= nowMs - graceMs) {
        const e = queue.shift()!;
        e.awaitingReport = false;
        this.countExternal(e, 'repeat of a fleet reading');
        this.decide(e.sensor);
        this.taken(e);
      }
      if (queue.length === 0) this.unmatched.delete(key);
    }
  }

  /**
   * The alerts a sensor's readings should raise, decided in the order the broker received them;
   * a reading from outside the fleet moves the sensor's level as the processor would (nextLevel).
   */
  private decide(sensor: number): void {
    const book = this.books[sensor]!;
    const spec = this.options.sensors[sensor]!;
    while (book.order.length > 0) {
      const e = book.order[0]!;
      if (e.awaitingReport || e.receivedAt === undefined) return;
      book.order.shift();
      if (FINAL.has(e.state)) this.forget(e);
      // Stale: not newer than what the sensor's alert state has seen (an external reading stamped
      // before a fleet reading the broker took first). The processor decides nothing on it.
      if ((e.timestampMs ?? 0) > 0) {
        if (e.timestampMs! <= book.newestMs) continue;
        book.newestMs = e.timestampMs!;
      }
      let level: Level | undefined;
      if (e.external) level = e.congestion !== undefined && this.options.thresholds ? nextLevel(book.level, e.congestion, this.options.thresholds) : undefined;
      else level = e.bad ? undefined : e.level;
      if (!level || level === book.level) continue;
      const since = book.lastAlertAt[level];
      if (since === undefined || e.receivedAt - since >= this.options.cooldownMs) {
        const readingTime = new Date(e.timestampMs!).toISOString();
        this.expected.set(`${spec.sensorId}|${readingTime}`, {
          sensorId: spec.sensorId,
          zoneId: spec.zoneId,
          from: book.level,
          to: level,
          readingTime,
          publishedAt: e.publishedAt ?? e.receivedAt,
          received: 0,
        });
        book.lastAlertAt[level] = e.receivedAt;
      }
      book.level = level;
    }
  }

  ingested(e: Entry, sequenceNumber: string): void {
    e.sequenceNumber = sequenceNumber;
    if (e.state === 'published' || e.state === 'received') e.state = 'ingested';
    this.bySequence.set(sequenceNumber, e);
    this.totals.ingested++;
  }

  ruleError(e: Entry): void {
    this.finish(e, 'rule-error');
    this.totals.ruleErrors++;
  }

  bySequenceNumber(sequenceNumber: string): Entry | undefined {
    return this.bySequence.get(sequenceNumber);
  }

  /** Valid readings have a reading time to look up: bad fleet readings and invalid external ones do not. */
  private static verifiable = (e: Entry) => !e.bad && (e.timestampMs ?? 0) > 0;

  /**
   * The processor took these records (its invocation returned at `atMs`): the valid ones should now
   * be in DynamoDB. Answers those to look for. A record of a fleet connection whose fleet report is
   * not in yet is decided when the report comes (or when it is called a repeat): until then the
   * books do not know whether it is valid, nor its reading time (the processor can take a record
   * that joined a batch just before its window closed, well within the fleet's 200 ms reports).
   */
  processed(sequenceNumbers: string[], atMs?: number): Entry[] {
    const toVerify: Entry[] = [];
    for (const seq of sequenceNumbers) {
      const e = this.bySequenceNumber(seq);
      if (!e || FINAL.has(e.state)) continue;
      if (e.state !== 'processed') this.totals.processed++;
      e.state = 'processed';
      if (atMs !== undefined) e.processedAt ??= atMs;
      if (this.decideTaken(e)) toVerify.push(e);
    }
    return toVerify;
  }

  /**
   * A taken record's fate, once the books know what it is: its quarantine verdict if the processor
   * gave one, otherwise true if it should be looked up in DynamoDB. False while its fleet report is
   * not in.
   */
  private decideTaken(e: Entry): boolean {
    if (e.awaitingReport || e.state !== 'processed') return false;
    const verdict = e.sequenceNumber === undefined ? undefined : this.verdicts.get(e.sequenceNumber);
    if (verdict !== undefined) {
      this.verdicts.delete(e.sequenceNumber!);
      this.quarantined(e.sequenceNumber!, verdict);
      return false;
    }
    return Ledger.verifiable(e);
  }

  /** A record whose fleet report (or repeat verdict) came after the processor took it: decided now. */
  private taken(e: Entry): void {
    if (this.decideTaken(e)) this.lateToVerify.push(e);
  }

  /** Readings taken before their fleet report came, to look up now that it has (each answered once). */
  takeLateToVerify(): Entry[] {
    return this.lateToVerify.splice(0, this.lateToVerify.length);
  }

  /**
   * Seen in its rollup item by a lookup answered at `atMs`. Its end-to-end latency ends when the
   * invocation that wrote it returned (processedAt, when known): it was in DynamoDB from then on,
   * and the time the books took to come round and look is theirs, not the pipeline's.
   */
  stored(e: Entry, atMs: number): void {
    if (FINAL.has(e.state)) return;
    if (e.bad) this.misplaced.push(`${e.thing} #${e.n} (${e.bad}) was stored`);
    this.finish(e, 'stored');
    this.totals.stored++;
    if (e.external) {
      this.externalOutcome.stored++;
      return;
    }
    if (e.publishedAt !== undefined) {
      this.endToEnd.push(Math.min(atMs, e.processedAt ?? atMs) - e.publishedAt);
      this.endToEndPublishedAt.push(e.publishedAt);
    }
    const book = this.books[e.sensor]!;
    book.latestCongestion = e.congestion;
    book.latestSpeed = e.speed;
  }

  /**
   * The processor quarantined this record (its log says so, with the reason): it counts once the
   * processor took the record (the invocation succeeded for it), so a record retried after its
   * quarantine message failed is not counted before its message is sent, and once the fleet's
   * report says what the record is (a bad reading, or a valid one quarantined: misplaced).
   */
  quarantined(sequenceNumber: string, reason: string): void {
    const e = this.bySequenceNumber(sequenceNumber);
    if (e && FINAL.has(e.state)) return;
    if (!e || e.state !== 'processed' || e.awaitingReport) {
      this.verdicts.set(sequenceNumber, reason);
      return;
    }
    const kind = reasonKind(reason);
    this.quarantinedByReason[kind] = (this.quarantinedByReason[kind] ?? 0) + 1;
    if (e.external) this.externalOutcome.quarantined++;
    else if (!e.bad) this.misplaced.push(`${e.thing} #${e.n} (valid) was quarantined: ${reason}`);
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
    if (e.sensor < 0 || !this.books[e.sensor]!.order.includes(e)) this.forget(e);
  }

  private forget(e: Entry): void {
    this.entries.delete(e);
    if (e.sequenceNumber) this.bySequence.delete(e.sequenceNumber);
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
    const sensor = this.indexOf.get(detail.sensor_id) ?? -1;
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
    for (const e of this.entries) if (!FINAL.has(e.state) && !e.awaitingReport) counts[e.state] = (counts[e.state] ?? 0) + 1;
    return counts;
  }

  /** Fleet readings the broker never received (still `published`), by sensor: the fleet's MQTT client lost them. */
  notReceived(): Entry[] {
    return [...this.pending.values()].flat();
  }

  /** Readings in a state, described (for the summary). */
  describe(state: EntryState, max: number): string[] {
    const out: string[] = [];
    for (const e of this.entries) {
      if (e.state !== state || e.awaitingReport) continue;
      out.push(`${e.thing} ${e.external ? `(${e.external})` : `#${e.n}`} at ${e.timestampMs ? new Date(e.timestampMs).toISOString() : '?'} seq ${e.sequenceNumber ?? '?'}${e.bad ? ` (${e.bad})` : ''}`);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Readings (the fleet's and those from outside it) not yet stored, quarantined, refused by the rule or dead-lettered. */
  inFlight(): number {
    const t = this.totals;
    return t.published + t.external - t.stored - t.quarantined - t.ruleErrors - t.deadLettered;
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

  /** End-to-end latency of the readings published at or after `fromMs` (the summary's run after its start-up). */
  endToEndPublishedFrom(fromMs: number): LatencyView {
    return latencyView(
      this.endToEnd.filter((_, i) => this.endToEndPublishedAt[i]! >= fromMs),
      this.options.endToEndTargetMs,
    );
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
