import { describe, expect, it } from 'vitest';
import { AWS, PLAN_DEFAULTS, plan, PlanInputError, type PlanInput } from '../../src/capacity';
import { buildTemplate } from '../../src/index';
import { planInputFromArgv } from '../../scripts/plan';

const city = (over: Partial<PlanInput> = {}): PlanInput => ({ sensors: 50_000, hz: 1, ...PLAN_DEFAULTS, ...over });

describe('plan', () => {
  it('sizes 50,000 sensors at 1 Hz (known answers)', () => {
    const p = plan(city());
    expect(p.load).toMatchObject({
      recordsPerSecond: 50_000,
      itemsPerSecond: 10_000,
      writeUnitsPerSecond: 20_000,
      hotZoneSensors: 2_000,
      hottestZoneKeyWcuPerSecond: 40,
      invocationsPerSecond: 24,
      recordsPerInvocation: 2_083,
    });
    expect(p.recommended).toMatchObject({ KinesisShardCount: 60, ProcessorReservedConcurrency: 150, DynamoDBWriteCapacity: 12_000, ZoneIndexShards: 10 });
  });

  it('agrees with the template defaults for 50,000 sensors at 1 Hz', () => {
    const defaults = Object.fromEntries(
      Object.entries(buildTemplate().Parameters).map(([name, p]) => [name, String((p as { Default?: unknown }).Default)]),
    );
    for (const [name, value] of Object.entries(plan(city()).recommended)) expect(defaults[name], name).toBe(String(value));
  });

  it('flags the IoT Core publish quota for 50,000/s and nothing else', () => {
    const failing = plan(city()).quotas.filter((q) => !q.ok);
    expect(failing.map((q) => q.name)).toEqual(['IoT Core inbound publishes per second (account)']);
    expect(failing[0]!.action).toContain('60,000/s');
    expect(plan(city({ sensors: 15_000 })).quotas.every((q) => q.ok)).toBe(true);
  });

  it('stores every reading when the window holds less than one reading', () => {
    expect(plan(city({ windowSeconds: 0 })).load.itemsPerSecond).toBe(50_000);
    expect(plan(city({ hz: 0.1, windowSeconds: 5 })).load.itemsPerSecond).toBe(5_000);
  });

  it('needs more zone index shards for a hotter zone, and a quota increase outside the big regions', () => {
    expect(plan(city({ hotZoneShare: 0.2 })).recommended.ZoneIndexShards).toBe(50);
    const frankfurt = plan(city({ region: 'eu-central-1' }));
    expect(frankfurt.quotas.find((q) => q.name.startsWith('IoT Core inbound'))!.limit).toBe(10_000);
    expect(frankfurt.quotas.find((q) => q.name.startsWith('Kinesis'))!.limit).toBe(200);
  });

  it('costs each service from its unit prices', () => {
    const p = plan(city());
    const kinesis = p.costs.find((c) => c.service === 'Kinesis Data Streams')!;
    const seconds = 30 * 24 * 3600;
    expect(kinesis.monthlyUsd).toBe(Math.round(60 * 720 * AWS.kinesis.shardHourUsd + (50_000 * seconds / 1e6) * AWS.kinesis.putPayloadUnitsPerMillionUsd));
    expect(p.monthlyTotalUsd).toBe(p.costs.reduce((n, c) => n + c.monthlyUsd, 0));
    expect(plan(city({ sensors: 500 })).monthlyTotalUsd).toBeLessThan(p.monthlyTotalUsd / 50);
  });

  it('rejects bad input naming the flag and the allowed values', () => {
    expect(() => plan(city({ sensors: 0, windowSeconds: 900 }))).toThrow(PlanInputError);
    expect(() => plan(city({ sensors: 0 }))).toThrow('--sensors: got 0, expected a whole number ≥ 1');
    expect(() => plan(city({ region: 'mars' }))).toThrow("--region: got 'mars'");
  });
});

describe('plan flags', () => {
  it('reads every flag', () => {
    expect(planInputFromArgv(['--sensors', '1000', '--hz', '2', '--zones', '12', '--hot-zone-share', '0.1', '--window', '10', '--region', 'eu-west-1', '--json'])).toEqual({
      input: { sensors: 1000, hz: 2, zones: 12, hotZoneShare: 0.1, windowSeconds: 10, region: 'eu-west-1' },
      json: true,
    });
  });
  it('names an unknown flag and lists the allowed ones', () => {
    expect(() => planInputFromArgv(['--sensors', '1', '--hz', '1', '--city', 'x'])).toThrow(/^plan: unknown flag --city; allowed: --sensors <number of sensors> --hz/);
  });
  it('names a missing or non-numeric flag', () => {
    expect(() => planInputFromArgv(['--hz', '1'])).toThrow('plan: --sensors <number of sensors> is required');
    expect(() => planInputFromArgv(['--sensors', 'many', '--hz', '1'])).toThrow("plan: --sensors takes a number, got 'many'");
    expect(() => planInputFromArgv(['--sensors'])).toThrow(/plan: --sensors needs a value/);
  });
});
