import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ACK_ATTRIBUTES, ALERT_STATE_TABLE, CONSOLE_ROUTES, encodeSensorStatus } from '../../../../contract';
import { AlertStore } from '../../../../handlers/processor/adapters/alert-store';
import { CallCounter } from '../../../../handlers/processor/io';
import { Cached, createConsoleApi, groupsOf, readConsoleConfig, type ConsoleApiConfig } from '../../../../handlers/processor/console-api';
import { consoleFakeAws } from '../../../../scripts/lib/console-fake';
import { consoleApiEnv } from '../../../../scripts/lib/processor-env';
import { fakeIo } from '../../../helpers/fake-io';

const NOW = Date.parse('2026-05-01T12:00:00Z');

describe('Cached', () => {
  it('shares one read among concurrent callers, serves a busy container the last value while it reads again (even a slow read), and makes a lone caller wait for fresh data', async () => {
    let reads = 0;
    let release: (() => void) | undefined;
    const cached = new Cached(1_000, async () => {
      reads++;
      await new Promise<void>((r) => (release = r));
      return reads;
    });
    const first = [cached.get(0), cached.get(0)];
    release!();
    await expect(Promise.all(first)).resolves.toEqual([1, 1]);
    expect(reads).toBe(1);
    // 1.2 × ttl later (a busy container): the value it has, at once, while the next read runs.
    await expect(cached.get(1_200)).resolves.toBe(1);
    expect(reads).toBe(2);
    // A slow read: callers keep getting that value, up to 3 × ttl old, without a second read.
    await expect(cached.get(2_900)).resolves.toBe(1);
    expect(reads).toBe(2);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    // 3 × ttl after that (a lone caller): it waits for a fresh read.
    const lone = cached.get(4_500);
    expect(reads).toBe(3);
    release!();
    await expect(lone).resolves.toBe(3);
  });
});

describe('groupsOf', () => {
  it("reads API Gateway's bracketed string, a JSON array and a list", () => {
    expect(groupsOf('[controllers supervisors]')).toEqual(['controllers', 'supervisors']);
    expect(groupsOf('["controllers"]')).toEqual(['controllers']);
    expect(groupsOf(['supervisors'])).toEqual(['supervisors']);
    expect(groupsOf('controllers,supervisors')).toEqual(['controllers', 'supervisors']);
    expect(groupsOf(undefined)).toEqual([]);
  });
});

describe('readConsoleConfig', () => {
  it('lists every missing or out-of-range variable in one error', () => {
    expect(() => readConsoleConfig({ WARNING_THRESHOLD: '500' })).toThrow(/SENSOR_STATUS_TABLE_NAME is not set.*WARNING_THRESHOLD: got "500"/);
  });
});

/** The API against AWS in memory: the three tables, a registry of two things, no metrics. */
function harness() {
  const aws = consoleFakeAws();
  const config: ConsoleApiConfig = readConsoleConfig(consoleApiEnv());
  const table = (name: string) => aws.table(name);
  const put = (name: string, item: Record<string, any>) => table(name).items.set(table(name).key(item), item);
  let now = NOW;
  const lines: Record<string, unknown>[] = [];
  const iot = { send: async () => ({ things: [{ thingName: 's-1', attributes: { location: '52.5,13.4' } }, { thingName: 's-2', attributes: { location: 'nowhere' } }] }) };
  const cloudwatch = { send: async () => ({ MetricDataResults: [] }) };
  const api = createConsoleApi({ config, clients: { dynamodb: aws.client() as never, iot: iot as never, cloudwatch: cloudwatch as never }, now: () => now, write: (line) => lines.push(JSON.parse(line)) });
  put('status', {
    bucket: { S: 'b1-0' },
    's-1': { S: encodeSensorStatus({ zoneId: 'Z1', congestionIndex: 95, vehicleCount: 9, avgSpeedKmh: 12, receivedAtMs: NOW - 3_000, readingAtMs: NOW - 3_200 }) },
    's-2': { S: encodeSensorStatus({ zoneId: 'Z1', congestionIndex: 40, vehicleCount: 4, avgSpeedKmh: 50, receivedAtMs: NOW - 2_000, readingAtMs: NOW - 2_200 }) },
  });
  const since = NOW - 20_000;
  put('alert-state', {
    sensor_id: { S: 's-1' },
    zone_id: { S: 'Z1' },
    level: { S: 'CRITICAL' },
    version: { N: '3' },
    last_alert_at: { M: { CRITICAL: { N: String(since) } } },
    pending: { S: '[]' },
    elevated_bucket: { S: '0a' },
    updated_at: { S: new Date(since).toISOString() },
  });
  return { aws, api, lines, since, advance: (ms: number) => (now += ms), put };
}

const event = (routeKey: string, options: { groups?: string; user?: string; path?: Record<string, string>; query?: string; body?: string } = {}) =>
  ({
    routeKey,
    rawQueryString: options.query ?? '',
    ...(options.path ? { pathParameters: options.path } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
    requestContext: { requestId: 'r1', authorizer: { jwt: { claims: { username: options.user ?? 'alice', 'cognito:groups': options.groups ?? '[controllers]' }, scopes: [] } } },
  }) as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;

const call = async (api: ReturnType<typeof harness>['api'], e: APIGatewayProxyEventV2WithJWTAuthorizer) => {
  const r = await api(e);
  return { status: r.statusCode!, body: JSON.parse(r.body!) };
};

describe('createConsoleApi (AWS in memory)', () => {
  it('answers the city once a second whatever the number of requests: concurrent requests share one read', async () => {
    const { aws, api, advance } = harness();
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(api, event(CONSOLE_ROUTES.city))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers[0]!.body.zones).toMatchObject([{ zoneId: 'Z1', level: 'NORMAL', meanCongestion: 67.5, alerts: { CRITICAL: 1, WARNING: 0 } }]);
    const scans = aws.calls.Scan;
    await call(api, event(CONSOLE_ROUTES.city));
    expect(aws.calls.Scan).toBe(scans);
    advance(1_000);
    await call(api, event(CONSOLE_ROUTES.city));
    expect(aws.calls.Scan).toBeGreaterThan(scans!);
    expect(api.stats().readUnits).toBeGreaterThan(0);
  });

  it('refuses a user in no console group (403), an unknown route (404), with JSON errors', async () => {
    const { api } = harness();
    await expect(call(api, event(CONSOLE_ROUTES.city, { groups: '[viewers]' }))).resolves.toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    await expect(call(api, event('GET /api/secrets'))).resolves.toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('acknowledges an alert once, records who and when on the alert state, and audits it in the log', async () => {
    const { aws, api, lines, since, advance } = harness();
    const body = JSON.stringify({ sensorId: 's-1', level: 'CRITICAL', since });
    const first = await call(api, event(CONSOLE_ROUTES.acknowledge, { body, user: 'alice' }));
    expect(first).toMatchObject({ status: 200, body: { first: true, acknowledged: { by: 'alice' } } });
    advance(5_000);
    const again = await call(api, event(CONSOLE_ROUTES.acknowledge, { body, user: 'bob', groups: '[supervisors]' }));
    expect(again).toMatchObject({ status: 200, body: { first: false, acknowledged: { by: 'alice' } } });
    const item = aws.table('alert-state').get({ sensor_id: { S: 's-1' } })!;
    expect(item).toMatchObject({ [ACK_ATTRIBUTES.by]: { S: 'alice' }, [ACK_ATTRIBUTES.level]: { S: 'CRITICAL' }, [ACK_ATTRIBUTES.since]: { N: String(since) } });
    // The processor's version is untouched: its next conditional write still holds.
    expect(item.version).toEqual({ N: '3' });
    expect(lines.filter((l) => l.message === 'Alert acknowledged').map((l) => [l.by, l.first])).toEqual([
      ['alice', true],
      ['bob', false],
    ]);
    advance(2_000);
    const alerts = await call(api, event(CONSOLE_ROUTES.alerts));
    expect(alerts.body.active[0].sentence).toMatch(/acknowledged by alice at/);
  });

  it('refuses to acknowledge an alert that changed (409) and one that does not exist (404), writing nothing', async () => {
    const { aws, api, since } = harness();
    const before = JSON.stringify(aws.table('alert-state').get({ sensor_id: { S: 's-1' } }));
    const changed = await call(api, event(CONSOLE_ROUTES.acknowledge, { body: JSON.stringify({ sensorId: 's-1', level: 'CRITICAL', since: since - 1 }) }));
    expect(changed).toMatchObject({ status: 409, body: { error: { code: 'alert_changed' } } });
    const missing = await call(api, event(CONSOLE_ROUTES.acknowledge, { body: JSON.stringify({ sensorId: 's-9', level: 'WARNING', since }) }));
    expect(missing).toMatchObject({ status: 404 });
    expect(JSON.stringify(aws.table('alert-state').get({ sensor_id: { S: 's-1' } }))).toBe(before);
    expect(aws.calls.UpdateItem ?? 0).toBe(0);
  });

  it("keeps the processor's writes and the acknowledgement apart: each preserves the other's attributes", async () => {
    const { aws, api, since } = harness();
    const store = new AlertStore({ client: aws.client() as never, tableName: 'alert-state', io: fakeIo().io, counter: new CallCounter() });
    // The processor reads the state, a controller acknowledges the alert, then the processor writes what it decided.
    const previous = (await store.load(['s-1'], () => true)).get('s-1')!;
    await call(api, event(CONSOLE_ROUTES.acknowledge, { body: JSON.stringify({ sensorId: 's-1', level: 'CRITICAL', since }) }));
    const change = { sensorId: 's-1', zoneId: 'Z1', updatedAt: new Date(NOW).toISOString(), state: previous, redo: (stored: typeof previous) => ({ ...stored, version: stored.version + 1, lastReadingMs: NOW }) };
    const written = await store.writeAll([change], 3);
    expect(written.get('s-1')).toMatchObject({ version: 4, lastReadingMs: NOW });
    const item = aws.table('alert-state').get({ sensor_id: { S: 's-1' } })!;
    expect(item.version).toEqual({ N: '4' });
    expect(item[ACK_ATTRIBUTES.by]).toEqual({ S: 'alice' });
  });

  it('serves positions with their zone, a zone with its sensors, and a sensor\'s rollups; unknown ones are 404', async () => {
    const { api, put } = harness();
    const sensors = await call(api, event(CONSOLE_ROUTES.sensors));
    expect(sensors.body.sensors).toEqual([{ sensorId: 's-1', zoneId: 'Z1', lat: 52.5, lon: 13.4 }]);
    const zone = await call(api, event(CONSOLE_ROUTES.zone, { path: { zoneId: 'Z1' } }));
    expect(zone.body.sensors.map((s: { sensorId: string }) => s.sensorId)).toEqual(['s-1', 's-2']);
    expect(await call(api, event(CONSOLE_ROUTES.zone, { path: { zoneId: 'Z9' } }))).toMatchObject({ status: 404 });
    put('readings', { sensor_id: { S: 's-1' }, timestamp: { S: new Date(NOW - 60_000).toISOString() }, reading_count: { N: '60' }, congestion_index_sum: { N: '5610' }, weather_condition_last: { S: '<b>rain</b>' } });
    const rollups = await call(api, event(CONSOLE_ROUTES.sensorRollups, { path: { sensorId: 's-1' }, query: 'minutes=60' }));
    expect(rollups.body.rollups).toEqual([expect.objectContaining({ readings: 60, congestion: expect.objectContaining({ mean: 93.5 }), weather: '<b>rain</b>' })]);
    expect(await call(api, event(CONSOLE_ROUTES.sensorRollups, { path: { sensorId: 's-404' } }))).toMatchObject({ status: 404 });
  });
});
