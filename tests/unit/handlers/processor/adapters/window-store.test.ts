/** The readings table's window items and their writes (handlers/processor/adapters/window-store.ts). */
import { describe, expect, it } from 'vitest';
import { exampleReading, windowMean } from '../../../../../contract';
import { enrich } from '../../../../helpers/readings';
import { zoneShard } from '../../../../../handlers/processor/core/hash';
import { windowOf as aggregateOf } from '../../../../../handlers/processor/core/window';
import { appendWrite, unpackOffsets, windowFromItem, windowItem, Windows, windowWrite, WindowStore, type KnownWindow } from '../../../../../handlers/processor/adapters/window-store';
import fc from 'fast-check';
import { emptyWindow } from '../../../../../handlers/processor/core/window';
import { CallCounter } from '../../../../../handlers/processor/io';
import { FakeAws } from '../../../../doubles/fake-aws';
import { fakeIo } from '../../../../helpers/fake-io';
import { ASSUMPTIONS } from '../../../../../template/capacity';
import { dynamoItemBytes } from '../../../../helpers/dynamo-size';
import type { Reading } from '../../../../../handlers/processor/core/types';

const thresholds = { warning: 80, critical: 90, hysteresis: 5 };
const T = Date.parse('2026-11-22T12:00:00Z');
const r = (sensor: string, offsetS: number, over: Partial<Reading> = {}): Reading => exampleReading({
  sensor_id: sensor,
  zone_id: 'downtown',
  timestamp: new Date(T + offsetS * 1000).toISOString(),
  timestampMs: T + offsetS * 1000,
  vehicle_count: 10,
  avg_speed: 30,
  congestion_index: 50,
  received_at: T + offsetS * 1000 + 100,
  ...over,
});
const options = { zoneIndexShards: 10, readingTtlDays: 7, rollupWindowSeconds: 60 };

/** A 60 s window of sensor s1 (readings at T + offsets), as the batch analysis would group them. */
const windowOf = (offsetsS: number[], over: (i: number) => Partial<Reading> = () => ({})) =>
  offsetsS.map((o, i) => enrich(r('s1', o, over(i)), thresholds));

describe('windowItem', () => {
  it('rolls a sensor’s readings of one window into one item keyed by the window’s start', () => {
    const readings = windowOf([2, 0, 1], (i) => [
      { vehicle_count: 30, congestion_index: 85 },
      { vehicle_count: 10, avg_speed: 50, congestion_index: 40 },
      { vehicle_count: 20, congestion_index: 60, temperature: 3 },
    ][i]!);
    const aggregate = aggregateOf('s1', T, readings);
    const item = windowItem(aggregate, options);
    expect(item).toMatchObject({
      sensor_id: { S: 's1' },
      timestamp: { S: '2026-11-22T12:00:00.000Z' },
      first_reading_at: { S: '2026-11-22T12:00:00.000Z' },
      last_reading_at: { S: '2026-11-22T12:00:02.000Z' },
      reading_count: { N: '3' },
      vehicle_count_sum: { N: '60' },
      vehicle_count_max: { N: '30' },
      vehicle_count_last: { N: '30' },
      avg_speed_sum: { N: '110' },
      avg_speed_min: { N: '30' },
      congestion_index_sum: { N: '185' },
      congestion_index_max: { N: '85' },
      congestion_level: { S: 'WARNING' },
      congestion_level_max: { S: 'WARNING' },
      expires_at: { N: String(T / 1000 + 60 + 7 * 86_400) },
    });
    expect(item.zone_shard).toEqual({ S: zoneShard('downtown', 's1', 10) });
    expect(unpackOffsets(item.reading_offsets_ms!.B!)).toEqual([0, 1000, 2000]);
    // The last reading (by time, not arrival) has no temperature.
    expect(item).not.toHaveProperty('temperature_last');
    // Means are kept as sums (and counts): readers divide.
    expect(Object.keys(item).filter((k) => k.endsWith('_mean'))).toEqual([]);
    expect(windowMean(item, 'avg_speed')).toBe(36.667);
    expect(windowMean(item, 'congestion_index')).toBe(61.667);
  });

  it('gives readers the mean of the readings at 3 decimals, from the sum and the count it stores', () => {
    const speed = fc.integer({ min: 0, max: 300_000 }).map((m) => m / 1000);
    fc.assert(
      fc.property(fc.array(fc.tuple(speed, fc.integer({ min: 0, max: 100_000 }).map((m) => m / 1000)), { minLength: 1, maxLength: 60 }), (values) => {
        const readings = windowOf(values.map((_, i) => i), (i) => ({ avg_speed: values[i]![0], congestion_index: values[i]![1] }));
        const item = windowItem(aggregateOf('s1', T, readings), options);
        const mean = (k: 0 | 1) => Math.round(values.reduce((sum, v) => sum + Math.round(v[k] * 1000), 0) / values.length) / 1000;
        expect(windowMean(item, 'avg_speed')).toBe(mean(0));
        expect(windowMean(item, 'congestion_index')).toBe(mean(1));
      }),
      { numRuns: 500 },
    );
    expect(windowMean({}, 'avg_speed')).toBeUndefined();
  });

  it('stores a single reading as that reading (count 1)', () => {
    const aggregate = aggregateOf('s1', T, windowOf([0], () => ({ temperature: 21 })));
    expect(windowItem(aggregate, options)).toMatchObject({
      reading_count: { N: '1' },
      vehicle_count_sum: { N: '10' },
      avg_speed_sum: { N: '30' },
      avg_speed_last: { N: '30' },
      temperature_last: { N: '21' },
      traffic_flow_score_last: { N: '25' },
    });
  });

  it('reads back what it writes (the conflict path merges into the stored item)', () => {
    const aggregate = aggregateOf('s1', T, windowOf([5, 7, 9], (i) => ({ temperature: -3.25 + i, weather_condition: 'léger brouillard ☁' })));
    const item = windowItem(aggregate, options);
    const read = windowFromItem(item);
    expect(windowItem(read, options)).toEqual(item);
    expect({ ...read, last: undefined }).toEqual({ ...aggregate, last: undefined });
    // An item written before the offsets were packed (a number set) reads the same.
    expect(windowFromItem({ ...item, reading_offsets_ms: { NS: ['9000', '5000', '7000'] } }).offsets).toEqual([5000, 7000, 9000]);
  });

  it('keeps a full 60 s window at 1 Hz within one write unit (1 KB), as the capacity plan assumes', () => {
    const readings = windowOf(Array.from({ length: 60 }, (_, i) => i), (i) => ({ temperature: 12.5, weather_condition: 'clear', avg_speed: 37.5 + i / 7, congestion_index: 55.5 + i / 3 }));
    const aggregate = aggregateOf('sensor-00001', T, readings.map((x) => ({ ...x, sensor_id: 'sensor-00001' })));
    const bytes = dynamoItemBytes(windowItem(aggregate, options));
    expect(bytes).toBeLessThanOrEqual(1024);
    expect(bytes).toBeLessThanOrEqual(ASSUMPTIONS.itemBytes);
  });
});

describe('fixed3', () => {
  it('writes what String(Math.round(x * 1000) / 1000) writes, for every measurement range', async () => {
    const { fixed3 } = await import('../../../../../handlers/processor/adapters/window-store');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100_000, noNaN: true }), (x) => {
        expect(fixed3(x).N).toBe(String(Math.round(x * 1000) / 1000));
      }),
      { numRuns: 5000 },
    );
    expect([0, 0.5, 42.05, 99.999, 300].map((x) => fixed3(x).N)).toEqual(['0', '0.5', '42.05', '99.999', '300']);
  });

  it('writes the same for a value at one decimal, shared by the items that hold it and frozen, as for any other', async () => {
    const { fixed3, milliNumber } = await import('../../../../../handlers/processor/adapters/window-store');
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.integer({ min: -2_000, max: 1_100_000 }), (tenths) => {
        const x = tenths / 10;
        expect(fixed3(x).N).toBe(String(Math.round(x * 1000) / 1000));
        expect(milliNumber(tenths * 100).N).toBe(String(x));
      }),
      { numRuns: 5000 },
    );
    expect(fixed3(42.5)).toBe(fixed3(42.5));
    // A window's sums at one decimal too (60 readings of up to 100.0 and more).
    expect(fixed3(5_999.9)).toBe(fixed3(5_999.9));
    expect(fixed3(9_999.9)).toBe(fixed3(9_999.9));
    expect(Object.isFrozen(fixed3(42.5))).toBe(true);
    expect(() => {
      (fixed3(42.5) as { N: string }).N = '0';
    }).toThrow(TypeError);
    expect(fixed3(42.5).N).toBe('42.5');
  });
});

describe('windowItem attribute values', () => {
  it('are shared only when equal: two windows with different counts keep their own values', () => {
    const a = windowItem(aggregateOf('s1', T, windowOf([0, 1, 2])), options);
    const b = windowItem(aggregateOf('s1', T, windowOf([0, 1])), options);
    expect(a.reading_count).toEqual({ N: '3' });
    expect(b.reading_count).toEqual({ N: '2' });
    expect(windowItem(aggregateOf('s1', T, windowOf([0, 1, 2])), options).reading_count).toBe(a.reading_count);
  });

  it('share a text last value between windows that hold it (frozen), and keep each window its own text', () => {
    const clear = windowItem(aggregateOf('s1', T, windowOf([0, 1], () => ({ weather_condition: 'clear' }))), options);
    const fog = windowItem(aggregateOf('s2', T, windowOf([0], () => ({ weather_condition: 'léger brouillard ☁' }))), options);
    const clearAgain = windowItem(aggregateOf('s3', T, windowOf([4], () => ({ weather_condition: 'clear' }))), options);
    expect(clear.weather_condition_last).toEqual({ S: 'clear' });
    expect(fog.weather_condition_last).toEqual({ S: 'léger brouillard ☁' });
    expect(clearAgain.weather_condition_last).toBe(clear.weather_condition_last);
    expect(Object.isFrozen(clear.weather_condition_last)).toBe(true);
    // Without the field in the newest reading, no last value at all.
    expect(windowItem(aggregateOf('s4', T, windowOf([0, 1], (i) => (i === 0 ? { weather_condition: 'rain' } : { weather_condition: undefined }))), options)).not.toHaveProperty('weather_condition_last');
  });
});

describe('Windows (a container\'s memory of the windows it wrote)', () => {
  it('finds, replaces and forgets windows as a list per sensor would, whether a sensor has one window or several', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), sensor: fc.constantFrom('a', 'b', 'c'), start: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('delete' as const), sensor: fc.constantFrom('a', 'b', 'c'), start: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('forgetBefore' as const), sensor: fc.constant(''), start: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const windows = new Windows();
        const model: KnownWindow[] = [];
        for (const { kind, sensor, start } of ops) {
          const same = (w: KnownWindow) => w.aggregate.sensorId === sensor && w.aggregate.windowStartMs === start;
          if (kind === 'set') {
            const w = { aggregate: emptyWindow(sensor, start) };
            windows.set(w);
            const at = model.findIndex(same);
            if (at >= 0) model[at] = w;
            else model.push(w);
          } else if (kind === 'delete') {
            windows.delete(sensor, start);
            const at = model.findIndex(same);
            if (at >= 0) model.splice(at, 1);
          } else {
            windows.forgetBefore(start);
            for (let i = model.length - 1; i >= 0; i--) if (model[i]!.aggregate.windowStartMs < start) model.splice(i, 1);
          }
          expect(windows.size).toBe(model.length);
          for (const s of ['a', 'b', 'c']) {
            for (let t = 0; t <= 3; t++) expect(windows.get(s, t)).toBe(model.find((w) => w.aggregate.sensorId === s && w.aggregate.windowStartMs === t));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('appendWrite (the steady state)', () => {
  it("updates the known window's fixed attributes in place, a moved sensor's zone and shard included, where the general path leaves them as they were", () => {
    const first = windowWrite('t', undefined, aggregateOf('s1', T, windowOf([0, 1])), options);
    const known = { aggregate: aggregateOf('s1', T, windowOf([0, 1])), packed: first.packed, fixed: first.fixed };
    const fixed = first.fixed;
    const before = { ...fixed };
    // The general path (a late reading) builds its own attributes, whatever it is given to reuse.
    windowWrite('t', known.aggregate, aggregateOf('s1', T, windowOf([5], () => ({ zone_id: 'uptown' }))), options, known);
    expect(known.fixed).toEqual(before);
    // Appending: the same object, its count the written count, its zone and shard the moved sensor's.
    const moved = appendWrite('t', known, windowOf([2, 3], () => ({ zone_id: 'uptown' })), options);
    expect(moved.fixed).toBe(fixed);
    expect(moved.write.Put!.ExpressionAttributeValues).toEqual({ ':known': { N: '2' } });
    expect(fixed.count).toEqual({ N: '4' });
    expect(fixed.zone).toEqual({ S: 'uptown' });
    expect(fixed.shard).toEqual({ S: zoneShard('uptown', 's1', options.zoneIndexShards) });
    expect(moved.write.Put!.Item).toEqual(windowItem(aggregateOf('s1', T, windowOf([0, 1, 2, 3], (i) => (i < 2 ? {} : { zone_id: 'uptown' }))), options));
    // Written (WindowStore keeps its packed offsets), then back, conditioned on the count just written.
    known.packed = moved.packed;
    const back = appendWrite('t', known, windowOf([4]), options);
    expect(back.write.Put!.ExpressionAttributeValues).toEqual({ ':known': { N: '4' } });
    expect(back.write.Put!.Item).toEqual(windowItem(aggregateOf('s1', T, windowOf([0, 1, 2, 3, 4], (i) => (i === 2 || i === 3 ? { zone_id: 'uptown' } : {}))), options));
    expect(fixed.zone).toEqual({ S: 'downtown' });
  });
});

describe('WindowStore.addAll', () => {
  const TABLE = 'readings';
  const tables = { [TABLE]: { hash: 'sensor_id', range: 'timestamp' } };
  const delta = (offsetsS: number[]) => {
    const readings = windowOf(offsetsS);
    return { sensorId: 's1', windowStartMs: T, readings };
  };
  const stored = (aws: FakeAws) => [...aws.table(TABLE).items.values()];
  const newStore = (aws: FakeAws) => new WindowStore({ client: aws.client() as never, tableName: TABLE, options });

  it('adds to a window another container wrote: the failed condition answers its item, merged into in the next round', async () => {
    const aws = new FakeAws({ tables });
    const { io } = fakeIo();
    expect(await newStore(aws).addAll([delta([0, 1, 2])], io, new CallCounter())).toEqual({ written: 1, failed: [] });
    const counter = new CallCounter();
    // A second container does not know the window: written as new, refused, merged.
    expect(await newStore(aws).addAll([delta([2, 3, 4])], io, counter)).toEqual({ written: 1, failed: [] });
    expect(counter.counts).toEqual({ TransactWriteItems: 2 });
    const items = stored(aws);
    expect(items).toHaveLength(1);
    const whole = windowItem(aggregateOf('s1', T, windowOf([0, 1, 2, 3, 4])), options);
    expect({ ...items[0], reading_offsets_ms: undefined }).toEqual({ ...whole, reading_offsets_ms: undefined });
    expect(unpackOffsets(items[0]!.reading_offsets_ms!.B!)).toEqual([0, 1000, 2000, 3000, 4000]);
  });

  it('appends later batches to the window it wrote (one call each, no read), and merges readings that are not after it', async () => {
    const aws = new FakeAws({ tables });
    const { io } = fakeIo();
    const store = newStore(aws);
    const counter = new CallCounter();
    expect(await store.addAll([delta([0, 2])], io, counter)).toEqual({ written: 1, failed: [] });
    // After everything written: appended (the steady state).
    expect(await store.addAll([delta([3, 4])], io, counter)).toEqual({ written: 1, failed: [] });
    // Not after it (a late reading, one already held): the general path.
    expect(await store.addAll([delta([1, 4, 5])], io, counter)).toEqual({ written: 1, failed: [] });
    // Appended again, on what the general path left known.
    expect(await store.addAll([delta([6])], io, counter)).toEqual({ written: 1, failed: [] });
    expect(counter.counts).toEqual({ TransactWriteItems: 4 });
    const items = stored(aws);
    expect(items).toHaveLength(1);
    const whole = windowItem(aggregateOf('s1', T, windowOf([0, 1, 2, 3, 4, 5, 6])), options);
    expect({ ...items[0], reading_offsets_ms: undefined }).toEqual({ ...whole, reading_offsets_ms: undefined });
    expect(unpackOffsets(items[0]!.reading_offsets_ms!.B!)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    // What the container knows is what is stored: a new container's write merges into the same item.
    expect(await newStore(aws).addAll([delta([7])], io, counter)).toEqual({ written: 1, failed: [] });
    expect(stored(aws)[0]!.reading_count).toEqual({ N: '8' });
  });

  it('forgets a window whose appending write did not succeed: the retry is written, and a concurrent write is merged, not overwritten', async () => {
    let refuse = false;
    const aws = new FakeAws({ tables, fault: () => (refuse ? 'throttle' : 'ok') });
    const { io } = fakeIo(2_000);
    const store = newStore(aws);
    await store.addAll([delta([0, 1])], io, new CallCounter());
    refuse = true;
    const later = delta([5]);
    expect(await store.addAll([later], io, new CallCounter())).toEqual({ written: 0, failed: [later] });
    refuse = false;
    // The retry of the same readings: written (the container does not take them as held).
    expect(await store.addAll([delta([5])], io, new CallCounter())).toEqual({ written: 1, failed: [] });
    expect(stored(aws)[0]!.reading_count).toEqual({ N: '3' });
    // Another container adds to the window; this one's next append fails its condition and merges into that.
    await newStore(aws).addAll([delta([6])], io, new CallCounter());
    const counter = new CallCounter();
    expect(await store.addAll([delta([7])], io, counter)).toEqual({ written: 1, failed: [] });
    expect(counter.counts).toEqual({ TransactWriteItems: 2 });
    expect(unpackOffsets(stored(aws)[0]!.reading_offsets_ms!.B!)).toEqual([0, 1000, 5000, 6000, 7000]);
    expect({ ...stored(aws)[0], reading_offsets_ms: undefined }).toEqual({ ...windowItem(aggregateOf('s1', T, windowOf([0, 1, 5, 6, 7])), options), reading_offsets_ms: undefined });
  });

  it('writes nothing for a replay of what it wrote, and answers the window it could not write for retry', async () => {
    let refuse = false;
    const aws = new FakeAws({ tables, fault: () => (refuse ? 'throttle' : 'ok') });
    const { io } = fakeIo(2_000);
    const store = newStore(aws);
    await store.addAll([delta([0, 1])], io, new CallCounter());
    const replay = new CallCounter();
    expect(await store.addAll([delta([0, 1])], io, replay)).toEqual({ written: 0, failed: [] });
    expect(replay.counts).toEqual({});
    refuse = true;
    const later = delta([5]);
    expect(await store.addAll([later], io, new CallCounter())).toEqual({ written: 0, failed: [later] });
    expect(stored(aws)[0]!.reading_count).toEqual({ N: '2' });
  });
});
