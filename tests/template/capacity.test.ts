import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';
import { AWS, PLAN_DEFAULTS, plan, planMarkdown, PlanInputError, type PlanInput } from '../../template/capacity';
import { buildTemplate } from '../../template/index';
import { planInputFromArgv } from '../../scripts/plan';

const city = (over: Partial<PlanInput> = {}): PlanInput => ({ sensors: 50_000, hz: 1, ...PLAN_DEFAULTS, ...over });
const seconds = 30 * 24 * 3600;
const GiB = 1024 ** 3;
const parameters = () => buildTemplate().Parameters as Record<string, { Default?: unknown; MinValue?: number; MaxValue?: number }>;
const design = (p: ReturnType<typeof plan>, key: string) => p.designs.find((d) => d.key === key)!;
const cost = (p: ReturnType<typeof plan>, key: string, service: string) =>
  design(p, key).costs.find((c) => c.service.startsWith(service))?.monthlyUsd;

describe('plan', () => {
  it('sizes 50,000 sensors at 1 Hz (known answers)', () => {
    const p = plan(city());
    expect(p.load).toMatchObject({
      recordsPerSecond: 50_000,
      // 50,000 sensors merged once per 5 s batch, plus the 1 in 12 batches that straddle a 60 s window
      tableWritesPerSecond: 10_833,
      // Transactional writes: two units for the 1 KB item.
      writeUnitsPerWrite: 2,
      itemWriteUnits: 1,
      indexWritesPerSecond: 833,
      indexBurstWritesPerSecond: 10_000,
      hotZoneSensors: 2_000,
      hottestZoneKeyWcuPerSecond: 40,
      invocationsPerSecond: 24,
      recordsPerInvocation: 2_083,
      firehoseRecordsPerSecond: 24,
    });
    expect(p.recommended).toMatchObject({
      KinesisShardCount: 60,
      ProcessorReservedConcurrency: 150,
      DynamoDBBillingMode: 'PROVISIONED',
      // 10,833 writes of 2 units at the 80% auto scaling target; the index holds the boundary burst with 20% headroom
      DynamoDBWriteCapacity: 27_100,
      ZoneIndexWriteCapacity: 12_000,
      ZoneIndexShards: 10,
    });
    expect(p.exceeded).toEqual([]);
  });

  it('agrees with the template defaults for 50,000 sensors at 1 Hz', () => {
    const defaults = Object.fromEntries(Object.entries(parameters()).map(([name, p]) => [name, String(p.Default)]));
    for (const [name, value] of Object.entries(plan(city()).recommended)) expect(defaults[name], name).toBe(String(value));
  });

  it('params/prod.json deploys what the plan recommends for 50,000 sensors', () => {
    const prod = JSON.parse(readFileSync(join(ROOT, 'params', 'prod.json'), 'utf8')) as { Parameters: Record<string, string> };
    for (const [name, value] of Object.entries(plan(city()).recommended)) {
      if (name in prod.Parameters) expect(prod.Parameters[name], name).toBe(String(value));
    }
    expect(prod.Parameters.DynamoDBBillingMode).toBe('PROVISIONED');
  });

  it('prices the defaults at or under $75,000 a month, under 40% of the design with a Firehose record per reading', () => {
    const p = plan(city());
    expect(p.monthlyTotalUsd).toBeLessThanOrEqual(75_000);
    expect(p.monthlyTotalUsd).toBe(design(p, 'defaults').monthlyTotalUsd);
    expect(p.monthlyTotalUsd).toBeLessThan(0.4 * design(p, 'before').monthlyTotalUsd);
    expect(design(p, 'seed').cannotCarry.join('; ')).toMatch(/10 shards take 10,000 records\/s of 50,000/);
    expect(design(p, 'defaults').cannotCarry).toEqual([]);
  });

  it('charges no IoT messages with Basic Ingest, and the broker tiers before', () => {
    const p = plan(city());
    const records = 50_000 * seconds;
    const rulesAndActions = (records / 1e6) * (AWS.iot.rulesTriggeredPerMillionUsd + AWS.iot.actionsExecutedPerMillionUsd);
    const connection = ((50_000 * seconds) / 60 / 1e6) * AWS.iot.connectionMinutesPerMillionUsd;
    expect(cost(p, 'defaults', 'IoT Core')).toBe(Math.round(rulesAndActions + connection));
    const tiered = 1_000 * 1.0 + 4_000 * 0.8 + (records / 1e6 - 5_000) * 0.7;
    expect(cost(p, 'before', 'IoT Core')).toBe(Math.round(tiered + rulesAndActions + connection));
  });

  it('bills Firehose on 5 KB per record for ingestion and conversion when each reading is a record', () => {
    const p = plan(city());
    const billedGb = (50_000 * seconds * 5_120) / GiB;
    expect(cost(p, 'before', 'Firehose')).toBe(Math.round(billedGb * (AWS.firehose.ingestPerGbUsd + AWS.firehose.formatConversionPerGbUsd)));
    // Aggregated: 24 records/s of ~610 KiB, billed at about their real size.
    const aggregated = cost(p, 'defaults', 'Firehose')!;
    const realGb = (50_000 * 300 * seconds) / GiB;
    expect(aggregated).toBeGreaterThanOrEqual(Math.round(realGb * 0.047));
    expect(aggregated).toBeLessThan(Math.round(realGb * 0.047 * 1.01));
  });

  it('recommends the cheaper DynamoDB mode and shows the other', () => {
    const p = plan(city());
    const hours = seconds / 3600;
    const provisioned = (27_100 + 12_000) * hours * AWS.dynamodb.provisionedWcuHourUsd + 200 * hours * AWS.dynamodb.provisionedRcuHourUsd;
    expect(cost(p, 'defaults', 'DynamoDB')).toBeGreaterThanOrEqual(Math.round(provisioned));
    const onDemand = p.options.find((o) => o.what === 'DynamoDB PAY_PER_REQUEST')!;
    expect(onDemand.monthlyUsd).toBeGreaterThan(p.monthlyTotalUsd);
    // A sensor every 10 minutes: too little steady load for capacity paid around the clock.
    expect(plan(city({ sensors: 2_000, hz: 1 / 600 })).recommended.DynamoDBBillingMode).toBe('PAY_PER_REQUEST');
  });

  it('keeps Kinesis provisioned: both on-demand modes cost more for this steady load', () => {
    const p = plan(city());
    const kinesis = cost(p, 'defaults', 'Kinesis')!;
    expect(kinesis).toBe(Math.round(60 * 720 * AWS.kinesis.shardHourUsd + ((50_000 * seconds) / 1e6) * AWS.kinesis.putPayloadUnitsPerMillionUsd));
    for (const option of p.options.filter((o) => o.what.startsWith('Kinesis'))) expect(option.monthlyUsd).toBeGreaterThan(p.monthlyTotalUsd);
  });

  it('checks every recommendation against the template\'s own bounds', () => {
    const params = parameters();
    for (const sensors of [1, 500, 50_000, 200_000, 1_000_000, 5_000_000]) {
      for (const hz of [0.1, 1, 2]) {
        for (const zones of [1, 200]) {
          const p = plan(city({ sensors, hz, zones }));
          for (const [name, value] of Object.entries(p.recommended)) {
            if (typeof value !== 'number') continue;
            const { MinValue = -Infinity, MaxValue = Infinity } = params[name] ?? {};
            expect(value, `${name} for ${sensors} sensors at ${hz} Hz`).toBeLessThanOrEqual(MaxValue);
            expect(value, `${name} for ${sensors} sensors at ${hz} Hz`).toBeGreaterThanOrEqual(MinValue);
          }
          for (const e of p.exceeded) expect(e.needed).toBeGreaterThan(e.max);
        }
      }
    }
  });

  it('says which parameter exceeds its bound and what to do', () => {
    const big = plan(city({ sensors: 200_000, hz: 2 }));
    expect(big.exceeded.find((e) => e.parameter === 'DynamoDBWriteCapacity')).toMatchObject({ max: 40_000 });
    expect(big.recommended.DynamoDBWriteCapacity).toBe(40_000);
    const huge = plan(city({ sensors: 1_000_000 }));
    const shards = huge.exceeded.find((e) => e.parameter === 'KinesisShardCount')!;
    expect(shards).toMatchObject({ needed: 1_200, max: 500 });
    expect(shards.action).toMatch(/shard quota increase.*ON_DEMAND.*two stacks/);
    expect(planMarkdown(huge)).toContain('| KinesisShardCount | 1,200 | 500 |');
  });

  it('honours --zones 1 and computes the hottest key with the clamped shard count', () => {
    const p = plan(city({ zones: 1 }));
    expect(p.load.hotZoneSensors).toBe(50_000);
    expect(p.recommended.ZoneIndexShards).toBe(100);
    expect(p.exceeded.find((e) => e.parameter === 'ZoneIndexShards')).toMatchObject({ needed: 250, max: 100 });
    // 50,000 sensors, one window merge each per 5 s batch, over the 100 shards the template allows
    expect(p.load.hottestZoneKeyWcuPerSecond).toBe(100);
  });

  it('marks hard limits as hard, and formats every number', () => {
    const p = plan(city({ sensors: 1_000_000 }));
    const sns = p.quotas.find((q) => q.name.startsWith('SNS email'))!;
    expect(sns).toMatchObject({ ok: false, adjustable: false });
    const markdown = planMarkdown(p);
    expect(markdown).toMatch(/SNS email deliveries.*\*\*hard limit\*\*/);
    const body = markdown.split('\n').slice(3).join('\n');
    expect(body).not.toMatch(/(?<![\d.,])\d{5,}(?![\d,])/);
  });

  it('flags the IoT publish and Firehose Direct PUT quotas for 50,000/s, and the reconnect time', () => {
    const p = plan(city());
    const failing = p.quotas.filter((q) => !q.ok);
    expect(failing.map((q) => q.name)).toEqual([
      'IoT Core inbound publishes per second (account)',
      'Firehose Direct PUT throughput (per delivery stream)',
    ]);
    expect(failing[0]!.action).toContain('60,000/s');
    const connect = p.quotas.find((q) => q.name.startsWith('IoT Core CONNECT'))!;
    expect(connect.action).toContain('at least 100 s');
    expect(plan(city({ sensors: 15_000 })).quotas.every((q) => q.ok)).toBe(true);
  });

  it('stores every reading when the window holds less than one reading', () => {
    expect(plan(city({ windowSeconds: 0 })).load.tableWritesPerSecond).toBe(50_000);
    expect(plan(city({ hz: 0.1, windowSeconds: 5 })).load.tableWritesPerSecond).toBe(5_000);
  });

  it('needs more zone index shards for a hotter zone, and a quota increase outside the big regions', () => {
    expect(plan(city({ hotZoneShare: 0.2 })).recommended.ZoneIndexShards).toBe(50);
    const frankfurt = plan(city({ region: 'eu-central-1' }));
    expect(frankfurt.quotas.find((q) => q.name.startsWith('IoT Core inbound'))!.limit).toBe(10_000);
    expect(frankfurt.quotas.find((q) => q.name.startsWith('Kinesis'))!.limit).toBe(200);
  });

  it('totals each design and scales with the fleet', () => {
    const p = plan(city());
    for (const d of p.designs) expect(d.monthlyTotalUsd).toBe(d.costs.reduce((n, c) => n + c.monthlyUsd, 0));
    expect(plan(city({ sensors: 500 })).monthlyTotalUsd).toBeLessThan(p.monthlyTotalUsd / 20);
  });

  it('rejects bad input naming the flag and the allowed values', () => {
    expect(() => plan(city({ sensors: 0, windowSeconds: 900 }))).toThrow(PlanInputError);
    expect(() => plan(city({ sensors: 0 }))).toThrow('--sensors: got 0, expected a whole number ≥ 1');
    expect(() => plan(city({ region: 'mars' }))).toThrow("--region: got 'mars'");
  });
});

describe("the console's cost", () => {
  it('grows with the controllers, stays a line of the defaults only, and reads under one unit per zone per city refresh', () => {
    const fifty = plan(city({ controllers: 50 }));
    const none = plan(city({ controllers: 0 }));
    const line = (p: ReturnType<typeof plan>) => design(p, 'defaults').costs.find((c) => c.service === "Traffic controllers' console")!;
    expect(line(fifty).monthlyUsd).toBe(fifty.console.totalUsd);
    expect(design(fifty, 'seed').costs.some((c) => c.service.includes('console'))).toBe(false);
    const byWhat = Object.fromEntries(fifty.console.lines.map((l) => [l.what, l.monthlyUsd]));
    expect(Object.keys(byWhat)).toEqual(['CloudFront', 'API Gateway (HTTP API)', 'Lambda (console API)', 'DynamoDB reads (console API, on demand)', 'DynamoDB writes (sensor status, on demand)', 'Cognito (Lite)', 'CloudWatch (console)']);
    // 50 controllers × 1.25 requests/s × 30 days at $1.00 per million.
    expect(byWhat['API Gateway (HTTP API)']).toBeCloseTo(62.5 * seconds * 1e-6, 1);
    expect(byWhat['Cognito (Lite)']).toBe(0);
    expect(fifty.console.readUnitsPerSecond / (50 / 2) / city().zones).toBeLessThan(1);
    expect(none.console.lines.find((l) => l.what === 'CloudFront')!.monthlyUsd).toBe(0);
    expect(fifty.monthlyTotalUsd - none.monthlyTotalUsd).toBe(fifty.console.totalUsd - none.console.totalUsd);
    expect(() => plan(city({ controllers: -1 }))).toThrow(/--controllers: got -1/);
  });
  it("recommends the console's status items for the city: about 200 sensors each, 256 at 50,000", () => {
    expect(plan(city()).recommended.SensorStatusItems).toBe(256);
    expect(plan(city({ sensors: 1_000 })).recommended.SensorStatusItems).toBe(8);
    expect(plan(city({ sensors: 150 })).recommended.SensorStatusItems).toBe(1);
    expect(plan(city({ sensors: 200_000 })).recommended.SensorStatusItems).toBe(256);
    // A small city's batches write a few small items, not 256.
    expect(plan(city({ sensors: 1_000 })).console.lines.find((l) => l.what.startsWith('DynamoDB writes'))!.monthlyUsd).toBeLessThan(50);
  });
});

describe('plan flags', () => {
  it('prefixes a model error with the command, as every CLI does, and fails', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'plan.ts'), '--sensors', '0', '--hz', '1'], { encoding: 'utf8' });
    expect(run.stderr.trim()).toBe('plan: --sensors: got 0, expected a whole number ≥ 1');
    expect(run.status).not.toBe(0);
  });
  it('reads every flag', () => {
    expect(planInputFromArgv(['--sensors', '1000', '--hz', '2', '--zones', '12', '--hot-zone-share', '0.1', '--window', '10', '--region', 'eu-west-1', '--controllers', '12', '--json'])).toEqual({
      input: { sensors: 1000, hz: 2, zones: 12, hotZoneShare: 0.1, windowSeconds: 10, region: 'eu-west-1', controllers: 12 },
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
