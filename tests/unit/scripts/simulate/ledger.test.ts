import { describe, expect, it } from 'vitest';
import { Ledger, reasonKind } from '../../../../scripts/simulate/ledger';
import { cityLayout } from '../../../../scripts/simulate/traffic';

describe('the books', () => {
  it('expects one alert per level change, none inside the cooldown, and counts duplicates', () => {
    const { sensors, zones } = cityLayout(3, 3);
    const ledger = new Ledger({ sensors, zones, hz: 1, scenario: 'rush-hour', cooldownMs: 60_000, endToEndTargetMs: 10_000, alertTargetMs: 30_000, startedAt: 0 });
    const levels = ['NORMAL', 'WARNING', 'CRITICAL', 'WARNING', 'NORMAL', 'WARNING'] as const;
    levels.forEach((level, i) => {
      // The broker's receipt may come before the fleet's report of the publish: the order must not matter.
      const thing = sensors[0]!.sensorId;
      if (i % 2) ledger.received({ thing, hash: `h${i}`, receivedAt: 1_000 * (i + 1), fromFleet: true });
      ledger.published({ sensor: 0, n: i + 1, hash: `h${i}`, publishedAt: 1_000 * (i + 1), timestampMs: 1_000 * (i + 1), level, congestion: 0, speed: 0 });
      if (!(i % 2)) ledger.received({ thing, hash: `h${i}`, receivedAt: 1_000 * (i + 1), fromFleet: true });
    });
    // NORMAL→WARNING, WARNING→CRITICAL, CRITICAL→WARNING (suppressed: WARNING 2 s before), WARNING→NORMAL, NORMAL→WARNING (suppressed).
    expect([...ledger.expected.values()].map((a) => `${a.from}>${a.to}`)).toEqual(['NORMAL>WARNING', 'WARNING>CRITICAL', 'WARNING>NORMAL']);
    const detail = { alert_id: 'a1', sensor_id: sensors[0]!.sensorId, zone_id: sensors[0]!.zoneId, level: 'WARNING' as const, previous_level: 'NORMAL' as const, reading_time: new Date(2_000).toISOString() };
    ledger.alert(detail, 5_000);
    ledger.alert(detail, 6_000);
    expect(ledger.totals).toMatchObject({ alerts: 1, duplicateAlerts: 1, unexpectedAlerts: 0 });
    expect(ledger.alertLatency).toEqual([3_000]);
    expect(ledger.missedAlerts().map((a) => a.to)).toEqual(['CRITICAL', 'NORMAL']);
  });

  it('measures rates over the last 10 s, so readings found stored a batch at a time read as a steady rate', () => {
    const { sensors, zones } = cityLayout(3, 3);
    const ledger = new Ledger({ sensors, zones, hz: 1, scenario: 'steady', cooldownMs: 60_000, endToEndTargetMs: 10_000, alertTargetMs: 30_000, startedAt: 0 });
    ledger.tick(0);
    // 50 readings found stored every 5 s (one batching window), none in between.
    for (let second = 1, n = 0; second <= 20; second++) {
      if (second % 5 === 0) {
        for (let i = 0; i < 50; i++, n++) {
          ledger.published({ sensor: 0, n: n + 1, hash: `h${n}`, publishedAt: second * 1000, timestampMs: second * 1000, congestion: 0, speed: 0 });
          const e = ledger.received({ thing: sensors[0]!.sensorId, hash: `h${n}`, receivedAt: second * 1000, fromFleet: true });
          ledger.ingested(e, `seq-${n}`);
          for (const e of ledger.processed([`seq-${n}`])) ledger.stored(e, second * 1000);
        }
      }
      ledger.tick(second * 1000);
      // After the first window fills, the rate is the true 10 readings/s, never 0 between batches.
      if (second >= 11) expect(ledger.snapshot(second * 1000).rates.stored, `second ${second}`).toBeGreaterThanOrEqual(8);
    }
  });

  it('gives the end-to-end latency of the readings published after the start-up apart from the whole run\'s', () => {
    const { sensors, zones } = cityLayout(3, 3);
    const ledger = new Ledger({ sensors, zones, hz: 1, scenario: 'steady', cooldownMs: 60_000, endToEndTargetMs: 10_000, alertTargetMs: 30_000, startedAt: 0 });
    // Published at 1, 2, ... 6 s; the first three wait for the first batch (stored at 12 s), the others 2 s each.
    for (let n = 1; n <= 6; n++) {
      const publishedAt = n * 1_000;
      ledger.published({ sensor: 0, n, hash: `h${n}`, publishedAt, timestampMs: publishedAt, congestion: 0, speed: 0 });
      ledger.ingested(ledger.received({ thing: sensors[0]!.sensorId, hash: `h${n}`, receivedAt: publishedAt, fromFleet: true }), `seq-${n}`);
      const processedAt = n <= 3 ? 12_000 : publishedAt + 2_000;
      for (const e of ledger.processed([`seq-${n}`], processedAt)) ledger.stored(e, processedAt);
    }
    expect(ledger.snapshot(20_000, Number.MAX_SAFE_INTEGER).latency.endToEnd).toMatchObject({ p99Ms: 11_000, count: 6 });
    expect(ledger.endToEndPublishedFrom(4_000)).toMatchObject({ p50Ms: 2_000, p99Ms: 2_000, count: 3 });
    expect(ledger.endToEndPublishedFrom(60_000)).toMatchObject({ p99Ms: null, count: 0 });
  });

  it('ends a reading\'s end-to-end latency when the invocation that wrote it returned, not when the books looked it up', () => {
    const { sensors, zones } = cityLayout(3, 3);
    const ledger = new Ledger({ sensors, zones, hz: 1, scenario: 'steady', cooldownMs: 60_000, endToEndTargetMs: 10_000, alertTargetMs: 30_000, startedAt: 0 });
    const land = (n: number, publishedAt: number, processedAt: number | undefined, seenAt: number) => {
      ledger.published({ sensor: 0, n, hash: `h${n}`, publishedAt, timestampMs: publishedAt, congestion: 0, speed: 0 });
      ledger.ingested(ledger.received({ thing: sensors[0]!.sensorId, hash: `h${n}`, receivedAt: publishedAt, fromFleet: true }), `seq-${n}`);
      for (const e of ledger.processed([`seq-${n}`], processedAt)) ledger.stored(e, seenAt);
    };
    land(1, 1_000, 7_000, 9_500);
    // Taken again (a retried batch): the first return stands.
    ledger.published({ sensor: 0, n: 2, hash: 'h2', publishedAt: 2_000, timestampMs: 2_000, congestion: 0, speed: 0 });
    ledger.ingested(ledger.received({ thing: sensors[0]!.sensorId, hash: 'h2', receivedAt: 2_000, fromFleet: true }), 'seq-2');
    ledger.processed(['seq-2'], 8_000);
    for (const e of ledger.processed(['seq-2'], 12_000)) ledger.stored(e, 13_000);
    // No return time known: the lookup's answer is the bound.
    land(3, 3_000, undefined, 11_000);
    expect(ledger.endToEnd).toEqual([6_000, 6_000, 8_000]);
  });

  describe('the books and the world outside the fleet', () => {
    const thresholds = { warning: 80, critical: 90, hysteresis: 5 };
    const setup = () => {
      const { sensors, zones } = cityLayout(3, 3);
      const ledger = new Ledger({ sensors, zones, hz: 1, scenario: 'steady', cooldownMs: 300_000, endToEndTargetMs: 10_000, alertTargetMs: 30_000, startedAt: 0, thresholds });
      const thing = sensors[0]!.sensorId;
      const fleet = (n: number, at: number) => {
        ledger.published({ sensor: 0, n, hash: `fleet-${n}`, publishedAt: at, timestampMs: at, level: 'NORMAL', congestion: 30, speed: 50 });
        return ledger.received({ thing, hash: `fleet-${n}`, receivedAt: at, fromFleet: true });
      };
      const land = (e: ReturnType<typeof fleet>, seq: string, quarantine?: string) => {
        ledger.ingested(e, seq);
        if (quarantine) ledger.quarantined(seq, quarantine);
        for (const v of ledger.processed([seq])) ledger.stored(v, 10_000);
      };
      return { ledger, sensors, thing, fleet, land };
    };

    it('counts a reading from outside the fleet, with a fleet sensor\'s identity, as external: not lost, not misplaced, later fleet readings unaffected', () => {
      const { ledger, thing, fleet, land } = setup();
      land(fleet(1, 1_000), 's1');
      // mosquitto_pub with sensor-00000's certificate: one valid reading, one invalid.
      const valid = ledger.received({ thing, hash: 'ext-1', receivedAt: 1_500, fromFleet: false, reading: { valid: true, timestampMs: 1_400, congestion: 42 } });
      const invalid = ledger.received({ thing, hash: 'ext-2', receivedAt: 1_600, fromFleet: false, reading: { valid: false } });
      land(valid, 's2');
      land(invalid, 's3', 'timestamp: "2026-02-30T10:00:00.000Z" is not a date');
      for (let n = 2; n <= 5; n++) land(fleet(n, n * 1_000), `s${n + 2}`);
      expect(ledger.totals).toMatchObject({ published: 5, external: 2, stored: 6, quarantined: 1 });
      expect(ledger.externalOutcome).toEqual({ stored: 1, quarantined: 1 });
      expect(ledger.externalByKind).toEqual({ 'outside the fleet': 2 });
      expect(ledger.inFlight()).toBe(0);
      expect(ledger.countByState().processed ?? 0).toBe(0);
      expect(ledger.misplaced).toEqual([]);
      expect(ledger.notReceived()).toEqual([]);
    });

    it('ties a message to its fleet reading by payload whatever arrives first, and calls a second copy a repeat once no report claims it', () => {
      const { ledger, thing } = setup();
      const early = ledger.received({ thing, hash: 'p1', receivedAt: 1_000, fromFleet: true });
      expect(ledger.inFlight()).toBe(0); // not counted until the fleet's report says what it is
      ledger.published({ sensor: 0, n: 1, hash: 'p1', publishedAt: 990, timestampMs: 990, level: 'NORMAL', congestion: 30, speed: 50 });
      expect(early.n).toBe(1);
      // QoS 1 resends the same payload after a reconnect: no report will claim it.
      const again = ledger.received({ thing, hash: 'p1', receivedAt: 1_200, fromFleet: true });
      ledger.settle(5_000, 10_000);
      expect(again.external).toBeUndefined();
      ledger.settle(11_300, 10_000);
      expect(again.external).toBe('repeat of a fleet reading');
      expect(ledger.totals).toMatchObject({ published: 1, external: 1 });
    });

    it('a fleet reading whose connection was taken over before the broker took it is not received, not in flight, not lost', () => {
      const { ledger } = setup();
      ledger.published({ sensor: 0, n: 1, hash: 'gone', publishedAt: 1_000, timestampMs: 1_000, level: 'NORMAL', congestion: 30, speed: 50 });
      expect(ledger.notReceived().map((e) => e.n)).toEqual([1]);
      expect(ledger.countByState().processed ?? 0).toBe(0);
    });

    it('expects the alerts a valid external reading causes (the processor\'s nextLevel), so they are not unexpected', () => {
      const { ledger, thing, fleet } = setup();
      fleet(1, 1_000);
      ledger.received({ thing, hash: 'jam', receivedAt: 2_000, fromFleet: false, reading: { valid: true, timestampMs: 2_000, congestion: 95 } });
      fleet(2, 3_000);
      expect([...ledger.expected.values()].map((a) => `${a.from}>${a.to}`)).toEqual(['NORMAL>CRITICAL', 'CRITICAL>NORMAL']);
    });

    it('expects nothing of an external reading stamped before the sensor\'s newest (the processor calls it stale)', () => {
      const { ledger, thing, fleet } = setup();
      fleet(1, 2_000);
      ledger.received({ thing, hash: 'late', receivedAt: 2_100, fromFleet: false, reading: { valid: true, timestampMs: 1_900, congestion: 95 } });
      expect([...ledger.expected.values()]).toEqual([]);
    });

    it('counts a quarantine only once the processor took the record, whatever order its log and its response come in', () => {
      const { ledger, thing } = setup();
      ledger.published({ sensor: 0, n: 1, hash: 'b', publishedAt: 1_000, timestampMs: 0, bad: 'not-json', congestion: 0, speed: 0 });
      const e = ledger.received({ thing, hash: 'b', receivedAt: 1_000, fromFleet: true });
      ledger.ingested(e, 'q1');
      ledger.quarantined('q1', 'not JSON');
      expect(ledger.totals.quarantined).toBe(0);
      ledger.processed(['q1']);
      expect(ledger.totals.quarantined).toBe(1);
      expect(ledger.badQuarantined).toEqual({ 'not-json': 1 });
    });

    // The processor can take a record within milliseconds of the broker receiving it (it joins a
    // batch whose window is closing), before the fleet's next report (every 200 ms) says what it
    // is. Decided then, a valid reading was never looked up (in flight for ever, then lost) and a
    // bad one was booked as a valid reading quarantined (misplaced).
    it('looks up a fleet reading the processor took before the fleet reported it, once the report comes: stored, not in flight, not lost', () => {
      const { ledger, thing } = setup();
      const e = ledger.received({ thing, hash: 'quick', receivedAt: 1_000, fromFleet: true });
      ledger.ingested(e, 's1');
      expect(ledger.processed(['s1'], 1_150)).toEqual([]); // not known yet: valid? which reading time?
      expect(ledger.takeLateToVerify()).toEqual([]);
      ledger.published({ sensor: 0, n: 1, hash: 'quick', publishedAt: 990, timestampMs: 990, level: 'NORMAL', congestion: 30, speed: 50 });
      const late = ledger.takeLateToVerify();
      expect(late).toEqual([e]);
      expect(ledger.takeLateToVerify()).toEqual([]); // handed over once
      for (const v of late) ledger.stored(v, 1_400);
      expect(ledger.inFlight()).toBe(0);
      expect(ledger.countByState().processed ?? 0).toBe(0);
      expect(ledger.endToEnd).toEqual([160]); // to the invocation's return, as for any reading
      expect(ledger.misplaced).toEqual([]);
    });

    it('books a quarantine verdict given before the fleet reported the reading as that bad reading\'s, whichever of log and response comes first', () => {
      const { ledger, thing } = setup();
      const reason = 'timestamp: 3600 s in the future, limit 300 s';
      const first = ledger.received({ thing, hash: 'future-1', receivedAt: 1_000, fromFleet: true });
      ledger.ingested(first, 'q1');
      ledger.processed(['q1']);
      ledger.quarantined('q1', reason);
      const second = ledger.received({ thing, hash: 'future-2', receivedAt: 1_500, fromFleet: true });
      ledger.ingested(second, 'q2');
      ledger.quarantined('q2', reason);
      ledger.processed(['q2']);
      expect(ledger.totals.quarantined).toBe(0); // what they are is not known yet
      for (const [n, hash] of [[1, 'future-1'], [2, 'future-2']] as const) {
        ledger.published({ sensor: 0, n, hash, publishedAt: 990, timestampMs: 0, bad: 'future-timestamp', congestion: 0, speed: 0 });
      }
      expect(ledger.totals.quarantined).toBe(2);
      expect(ledger.badQuarantined).toEqual({ 'future-timestamp': 2 });
      expect(ledger.misplaced).toEqual([]);
      expect(ledger.takeLateToVerify()).toEqual([]);
      expect(ledger.inFlight()).toBe(0);
    });

    it('decides a repeat the processor took before any report could claim it once it is called a repeat: its quarantine counted as external', () => {
      const { ledger, thing } = setup();
      const again = ledger.received({ thing, hash: 'resent', receivedAt: 1_000, fromFleet: true });
      ledger.ingested(again, 'r1');
      ledger.processed(['r1']);
      ledger.quarantined('r1', 'not JSON: Unexpected end of JSON input');
      expect(ledger.totals.quarantined).toBe(0);
      ledger.settle(11_000, 10_000);
      expect(again.external).toBe('repeat of a fleet reading');
      expect(ledger.totals.quarantined).toBe(1);
      expect(ledger.externalOutcome.quarantined).toBe(1);
      expect(ledger.misplaced).toEqual([]);
      expect(ledger.inFlight()).toBe(0);
    });
  });

  it('groups quarantine reasons by kind', () => {
    expect(reasonKind('congestion_index: expected a number from 0 to 100, got nothing (missing)')).toBe('congestion_index: missing');
    expect(reasonKind('congestion_index: expected a number from 0 to 100, got 140')).toBe('congestion_index: expected a number from N to N');
    expect(reasonKind('not JSON: Unexpected end of JSON input')).toBe('not JSON');
    expect(reasonKind('sensor_id "a" does not match the publishing thing "b"')).toBe('sensor_id … does not match the publishing thing …');
  });
});
