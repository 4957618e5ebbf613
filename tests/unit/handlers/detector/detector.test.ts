/**
 * The silent-sensor detector's state machine, against AWS in memory (tests/doubles/fake-aws.ts):
 * silence, recovery, first sightings, forgetting, and exactly one event per transition under
 * retries, overlapping runs and a run that dies before it publishes.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { HEALTH_TABLE, READINGS_TABLE, SENSOR_HEALTH_EVENT } from '../../../../contract';
import { zoneShard } from '../../../../handlers/processor/core/hash';
import { readDetectorConfig, runDetector, type DetectorOutcome } from '../../../../handlers/detector/detector';
import { awsError, FakeAws, type Fault } from '../../../doubles/fake-aws';
import { detectorEnv, EXAMPLE_PHYSICAL_IDS } from '../../../../scripts/lib/processor-env';

const config = readDetectorConfig(detectorEnv());
const HEALTH = EXAMPLE_PHYSICAL_IDS.SensorHealthTable!;
const READINGS = EXAMPLE_PHYSICAL_IDS.ReadingsTable!;
const WINDOW_MS = config.rollupWindowSeconds * 1000;
const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const MINUTE = 60_000;

/** A city in memory: the two tables, the zone groups, and a clock the detector's sleeps advance. */
function city(zones: string[] = ['north', 'south'], fault?: (operation: string, input: any) => Fault | 'fail') {
  let failing = false;
  const aws = new FakeAws({
    tables: {
      [HEALTH]: { hash: HEALTH_TABLE.partitionKey },
      [READINGS]: {
        hash: READINGS_TABLE.partitionKey,
        range: READINGS_TABLE.sortKey,
        indexes: { [READINGS_TABLE.zoneIndexName]: { hash: READINGS_TABLE.zoneIndexPartitionKey, range: READINGS_TABLE.sortKey } },
      },
    },
    fault: (operation, input) => {
      const f = failing ? fault?.(operation, input) : undefined;
      if (f === 'fail') throw awsError('AccessDeniedException', `${operation} denied`);
      return f ?? 'ok';
    },
  });
  aws.thingGroups.set(config.zoneParentGroup, zones);
  const client = aws.client();
  const events = () => aws.events.map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail!) }));
  /** A rollup window of the sensor holding a reading at `atMs`, as the processor writes it. */
  const report = (sensorId: string, zoneId: string, atMs: number) =>
    client.send(
      new PutItemCommand({
        TableName: READINGS,
        Item: {
          [READINGS_TABLE.partitionKey]: { S: sensorId },
          [READINGS_TABLE.sortKey]: { S: new Date(Math.floor(atMs / WINDOW_MS) * WINDOW_MS).toISOString() },
          [READINGS_TABLE.zoneIndexPartitionKey]: { S: zoneShard(zoneId, sensorId, config.zoneIndexShards) },
          [READINGS_TABLE.lastReadingAttribute]: { S: new Date(atMs).toISOString() },
        },
      }) as never,
    );
  /** One detector run at `atMs`; `faulty` turns the fault schedule on for it. */
  const run = async (atMs: number, options: { runId?: string; faulty?: boolean; lines?: string[] } = {}): Promise<DetectorOutcome> => {
    let now = atMs;
    failing = options.faulty ?? false;
    try {
      return await runDetector(
        {
          config,
          clients: { dynamodb: client, eventbridge: client, iot: client } as never,
          now: () => now,
          sleep: async (ms) => void (now += ms),
          random: () => 0.5,
          write: (line) => options.lines?.push(line),
          ...(options.runId ? { runId: options.runId } : {}),
          io: { callTimeoutMs: 50 },
        },
        50_000,
      );
    } finally {
      failing = false;
    }
  };
  const item = (sensorId: string) => aws.table(HEALTH).get({ [HEALTH_TABLE.partitionKey]: { S: sensorId } });
  return { aws, events, report, run, item };
}

/** Reports every sensor once a second from `fromMs` to `toMs` (one window item per minute is what matters). */
async function reportEveryWindow(c: ReturnType<typeof city>, sensors: [string, string][], fromMs: number, toMs: number) {
  for (let t = fromMs; t <= toMs; t += WINDOW_MS) for (const [id, zone] of sensors) await c.report(id, zone, t);
}

describe('the silent-sensor detector', () => {
  it('expects a sensor from its first reading, without an event, and never reports one that never reported', async () => {
    const c = city();
    await reportEveryWindow(c, [['s1', 'north'], ['s2', 'south']], T0, T0 + 10 * MINUTE);
    const first = await c.run(T0 + 30_000);
    expect(first).toMatchObject({ inserted: 2, silenced: 0, eventsPublished: 0 });
    for (let t = T0 + MINUTE; t <= T0 + 10 * MINUTE; t += MINUTE) await c.run(t);
    // s3 is registered in a zone but has never reported: not expected, never silent.
    expect(c.events()).toEqual([]);
    expect(c.item('s1')).toMatchObject({ [HEALTH_TABLE.state]: { S: 'REPORTING' }, [HEALTH_TABLE.zone]: { S: 'north' } });
  });

  it('publishes Sensor Silent once when a sensor stops, and Sensor Recovered once when it reports again', async () => {
    const c = city();
    await reportEveryWindow(c, [['s1', 'north'], ['s2', 'north']], T0, T0 + 30 * MINUTE);
    await reportEveryWindow(c, [['dead', 'north']], T0, T0 + 3 * MINUTE);
    await c.report('dead', 'north', T0 + 3 * MINUTE + 15_000);
    await c.run(T0 + MINUTE);
    const silentAt: number[] = [];
    for (let t = T0 + 2 * MINUTE; t <= T0 + 20 * MINUTE; t += MINUTE) {
      if ((await c.run(t)).silenced > 0) silentAt.push(t);
    }
    // Its last window starts at 08:03; silent once 5 whole windows (08:04-08:08) and the current one have none.
    expect(silentAt).toEqual([T0 + 9 * MINUTE]);
    expect(c.events()).toEqual([
      expect.objectContaining({
        type: SENSOR_HEALTH_EVENT.silent,
        sensor_id: 'dead',
        zone_id: 'north',
        state: 'SILENT',
        previous_state: 'REPORTING',
        last_seen_at: new Date(T0 + 3 * MINUTE + 15_000).toISOString(),
        silent_after_seconds: 300,
      }),
    ]);
    await c.report('dead', 'north', T0 + 20 * MINUTE + 5_000);
    const recovered = await c.run(T0 + 21 * MINUTE);
    expect(recovered).toMatchObject({ recovered: 1, eventsPublished: 1 });
    for (let t = T0 + 22 * MINUTE; t <= T0 + 25 * MINUTE; t += MINUTE) await c.run(t);
    expect(c.events().map((e) => [e.type, e.sensor_id])).toEqual([
      [SENSOR_HEALTH_EVENT.silent, 'dead'],
      [SENSOR_HEALTH_EVENT.recovered, 'dead'],
    ]);
    expect(new Set(c.events().map((e) => e.event_id)).size).toBe(2);
    // A recovery clears the outbox and the forgetting TTL.
    expect(c.item('dead')![HEALTH_TABLE.pendingEvent]).toBeUndefined();
    expect(c.item('dead')![HEALTH_TABLE.ttl]).toBeUndefined();
  });

  it('publishes one event when runs overlap or a run is retried', async () => {
    const c = city();
    await reportEveryWindow(c, [['a', 'north'], ['b', 'south']], T0, T0 + 2 * MINUTE);
    await c.run(T0 + MINUTE);
    const at = T0 + 10 * MINUTE;
    const both = await Promise.all([c.run(at, { runId: 'run-1' }), c.run(at, { runId: 'run-2' })]);
    expect(both.reduce((n, o) => n + o.silenced, 0)).toBe(2);
    await c.run(at, { runId: 'run-1' }); // the scheduler's retry of run-1
    await c.run(at + 5_000);
    expect(c.events().map((e) => e.sensor_id).sort()).toEqual(['a', 'b']);
  });

  it('leaves an event EventBridge refused pending, and the next run publishes it once', async () => {
    const c = city(['north'], (operation) => (operation === 'PutEvents' ? 'throttle' : 'ok'));
    await reportEveryWindow(c, [['a', 'north']], T0, T0 + 2 * MINUTE);
    await c.run(T0 + MINUTE);
    const refused = await c.run(T0 + 10 * MINUTE, { faulty: true });
    expect(refused).toMatchObject({ silenced: 1, eventsPublished: 0, eventsPending: 1 });
    expect(c.events()).toEqual([]);
    const next = await c.run(T0 + 11 * MINUTE);
    expect(next).toMatchObject({ silenced: 0, republished: 1, eventsPublished: 1 });
    await c.run(T0 + 12 * MINUTE);
    expect(c.events().map((e) => [e.type, e.sensor_id])).toEqual([[SENSOR_HEALTH_EVENT.silent, 'a']]);
  });

  it('republishes the event of a run that died holding its claim, once, after the claim lapsed', async () => {
    // The run writes the transition, then neither publishes nor releases (every later call fails).
    const c = city(['north'], (operation, input) =>
      operation === 'PutEvents' || (operation === 'UpdateItem' && !String(input.UpdateExpression).startsWith('SET #state')) ? 'fail' : 'ok',
    );
    await reportEveryWindow(c, [['a', 'north']], T0, T0 + 2 * MINUTE);
    await c.run(T0 + MINUTE);
    await expect(c.run(T0 + 10 * MINUTE, { faulty: true })).rejects.toThrow(/denied/);
    expect(c.item('a')![HEALTH_TABLE.pendingEvent]).toBeDefined();
    // Still claimed (50 s run + 5 s margin): a run 30 s later leaves it alone.
    expect(await c.run(T0 + 10 * MINUTE + 30_000)).toMatchObject({ republished: 0, eventsPublished: 0 });
    expect(await c.run(T0 + 11 * MINUTE)).toMatchObject({ republished: 1, eventsPublished: 1 });
    await c.run(T0 + 12 * MINUTE);
    expect(c.events().map((e) => [e.type, e.sensor_id])).toEqual([[SENSOR_HEALTH_EVENT.silent, 'a']]);
  });

  it('forgets a sensor silent for ForgetSilentSensorDays, and expects it again from its next reading', async () => {
    const c = city(['north']);
    await reportEveryWindow(c, [['a', 'north'], ['b', 'north']], T0, T0 + 2 * MINUTE);
    await c.run(T0 + MINUTE);
    await c.run(T0 + 10 * MINUTE);
    const days = (d: number) => T0 + d * 86_400_000;
    await reportEveryWindow(c, [['b', 'north']], days(8) - 2 * MINUTE, days(8));
    const lines: string[] = [];
    const later = await c.run(days(8), { lines });
    expect(later.zones).toEqual([{ zoneId: 'north', expected: 1, reporting: 1 }]);
    await c.report('a', 'north', days(8) + 30_000);
    const back = await c.run(days(8) + MINUTE);
    expect(back).toMatchObject({ recovered: 1, eventsPublished: 1 });
    expect(back.zones).toEqual([{ zoneId: 'north', expected: 2, reporting: 2 }]);
    expect(c.events().map((e) => [e.type, e.sensor_id])).toEqual([
      [SENSOR_HEALTH_EVENT.silent, 'a'],
      [SENSOR_HEALTH_EVENT.silent, 'b'],
      [SENSOR_HEALTH_EVENT.recovered, 'b'],
      [SENSOR_HEALTH_EVENT.recovered, 'a'],
    ]);
  });

  it('emits SensorsReporting per zone and the lowest zone share as EMF', async () => {
    const c = city(['north', 'south']);
    await reportEveryWindow(c, [['n1', 'north'], ['n2', 'north'], ['n3', 'north'], ['s1', 'south']], T0, T0 + 2 * MINUTE);
    await reportEveryWindow(c, [['n1', 'north'], ['s1', 'south']], T0 + 3 * MINUTE, T0 + 10 * MINUTE);
    await c.run(T0 + MINUTE);
    const lines: string[] = [];
    await c.run(T0 + 10 * MINUTE, { lines });
    const emf = lines.map((l) => JSON.parse(l)).filter((d) => d._aws);
    expect(emf.filter((d) => d.ZoneId).map((d) => [d.ZoneId, d.SensorsReporting, d.SensorsExpected])).toEqual([
      ['north', 1, 3],
      ['south', 1, 1],
    ]);
    expect(emf.find((d) => d.Service)).toMatchObject({ Service: 'detector', LowestZoneReportingSharePercent: 33, SensorsSilent: 2, SilencesHeld: 0, SensorHealthEventsPublished: 2 });
  });

  it('inserts a new fleet 100 sensors to a TransactWriteItems, and one sensor another run inserted holds back none of the others', async () => {
    // An overlapping run inserts s007 (at version 1, as an insert does) after this run read the table.
    let raced = false;
    const c = city(['north'], (operation) => {
      if (operation === 'TransactWriteItems' && !raced) {
        raced = true;
        const racer: Record<string, { S: string } | { N: string }> = { [HEALTH_TABLE.partitionKey]: { S: 's007' }, [HEALTH_TABLE.zone]: { S: 'north' }, [HEALTH_TABLE.state]: { S: 'REPORTING' }, [HEALTH_TABLE.version]: { N: '1' } };
        const health = c.aws.table(HEALTH);
        health.items.set(health.key(racer), racer);
      }
      return 'ok';
    });
    const fleet = Array.from({ length: 250 }, (_, i): [string, string] => [`s${String(i).padStart(3, '0')}`, 'north']);
    for (const [id, zone] of fleet) await c.report(id, zone, T0 + 10_000);
    const first = await c.run(T0 + 30_000, { faulty: true });
    expect(raced).toBe(true);
    expect(first.inserted).toBe(249);
    // 3 of up to 100, and the 99 cancelled only for s007 again.
    expect(first.calls).toMatchObject({ TransactWriteItems: 4 });
    expect(first.calls.UpdateItem ?? 0).toBe(0);
    expect(fleet.every(([id]) => c.item(id)?.[HEALTH_TABLE.state]?.S === 'REPORTING')).toBe(true);
    expect(c.item('s100')).toMatchObject({ [HEALTH_TABLE.version]: { N: '1' }, [HEALTH_TABLE.zone]: { S: 'north' } });
    // Known now: the next run inserts nothing.
    expect((await c.run(T0 + MINUTE)).inserted).toBe(0);
  });
});
