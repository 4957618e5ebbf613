/**
 * The traffic controllers' console API: a third entry point of the processor bundle
 * (`index.consoleApi`), behind an HTTP API whose JWT authorizer has already checked the token
 * (issuer, audience, expiry, scope) before a request gets here. This function checks the group,
 * validates everything else a request carries, and answers JSON; a bad request is a 4xx with a
 * JSON error, never a stack trace, and writes nothing.
 *
 * Caching (per container): the city's statuses and the active alerts are read at most once a
 * second whatever the number of controllers polling (concurrent requests share one read), recent
 * alerts every 5 s, positions every 10 minutes, a zone's trend every 30 s. With 50 controllers
 * polling every 2 s, a container reads the status items once a second: about 300 read units at
 * 50,000 sensors, against 25 city requests a second (`npm run bench:console` measures it).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import {
  CONSOLE_GROUPS,
  CONSOLE_RESOURCES,
  CONSOLE_ROUTES,
  CONSOLE_SETTINGS,
  ID_PATTERN,
  ZONE_PATTERN,
  type ConsoleResource,
  type ConsoleRoute,
  type SensorStatus,
} from '../../contract';
import {
  acknowledgeAlert,
  activeAlertStates,
  getAlertState,
  ReadMeter,
  recentAlertStates,
  scanSensorStatus,
  StatusDecoder,
  sensorPositions,
  sensorRollups,
  zoneTrend,
} from './adapters/console-store';
import { CallCounter, invocationIo, type FunctionDeps, type IoContext, type SendOnly } from './io';
import { acknowledgementOf, alertList, citySnapshot, latestStatuses, sensorsByZone, zoneView, type ConsoleSettings, type Positions } from './console/views';
import type { Level } from './core/types';
import { readFunctionEnv, type FunctionConfig } from './function-env';
import { jsonLogger, type Logger } from './log';

export type ConsoleApiConfig = FunctionConfig<ConsoleResource, typeof CONSOLE_SETTINGS>;

/** Reads and checks the API's variables (contract/console.ts, contract/env.ts); one error lists every problem. */
export const readConsoleConfig = (env: Record<string, string | undefined>): ConsoleApiConfig => readFunctionEnv('console API', CONSOLE_RESOURCES, CONSOLE_SETTINGS, env);

/** How long each read is reused within a container (see the caching note above). */
export const CACHE_MS = { statuses: 1_000, recentAlerts: 5_000, positions: 600_000, trend: 30_000 } as const;
/** Alerts listed per answer (the totals are always given): a storm does not make every poll a megabyte. */
export const MAX_ALERTS_LISTED = 200;
/** How far back "recent" alerts go. */
export const RECENT_ALERTS_MS = 3_600_000;
/** The rollups a sensor panel shows: its last hour by default, at most a day. */
export const ROLLUP_MINUTES = { default: 60, max: 1_440 } as const;
/** Longer query strings and bodies are refused before anything is read (the routes take a few short parameters). */
export const MAX_QUERY_CHARS = 256;
export const MAX_BODY_BYTES = 1_024;

export type ConsoleClients = SendOnly<{ dynamodb: DynamoDBClient; iot: IoTClient; cloudwatch: CloudWatchClient }>;

export type ConsoleApiDeps = FunctionDeps<ConsoleApiConfig, ConsoleClients>;

type Event = APIGatewayProxyEventV2WithJWTAuthorizer;
type Result = APIGatewayProxyStructuredResultV2;

/** A refusal the caller can act on: its status, a stable code and a sentence. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
const json = (status: number, body: unknown): Result => ({ statusCode: status, headers: HEADERS, body: JSON.stringify(body) });

/**
 * The caller's groups. API Gateway's JWT authorizer hands array claims to the integration as a
 * bracketed, space-separated string ("[controllers supervisors]"; reported in
 * https://github.com/aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock/issues/802);
 * a JSON array or a list also works.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.map(String);
  if (typeof claim !== 'string' || claim.trim() === '') return [];
  const text = claim.trim();
  if (text.startsWith('["')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // not JSON: fall through
    }
  }
  return text.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
}

/** Who is asking: their user name and console groups; 403 without one. */
export function caller(event: Event): { user: string; groups: string[] } {
  const claims = (event.requestContext?.authorizer?.jwt?.claims ?? {}) as Record<string, unknown>;
  const user = String(claims.username ?? claims['cognito:username'] ?? claims.sub ?? '');
  const groups = groupsOf(claims['cognito:groups']).filter((g) => (CONSOLE_GROUPS as readonly string[]).includes(g));
  if (!user) throw new RequestError(401, 'unauthorized', 'The token names no user');
  if (groups.length === 0) throw new RequestError(403, 'forbidden', `User ${user} is in no console group (${CONSOLE_GROUPS.join(' or ')}): ask an administrator to add them`);
  return { user, groups };
}

/** The route an event is for (API Gateway's route key), or 404. */
function routeOf(event: Event): ConsoleRoute {
  const entry = (Object.entries(CONSOLE_ROUTES) as [ConsoleRoute, string][]).find(([, key]) => key === event.routeKey);
  if (!entry) throw new RequestError(404, 'not_found', `No such route: ${String(event.routeKey).slice(0, 80)}`);
  return entry[0];
}

/** The query string's parameters, checked: only the allowed names, once each, short. */
function query(event: Event, allowed: readonly string[]): Record<string, string> {
  const raw = event.rawQueryString ?? '';
  if (raw.length > MAX_QUERY_CHARS) throw new RequestError(414, 'query_too_long', `The query string has ${raw.length} characters; at most ${MAX_QUERY_CHARS} are accepted`);
  const params = new URLSearchParams(raw);
  const out: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!allowed.includes(name)) {
      throw new RequestError(400, 'bad_query', `Unknown query parameter '${name.slice(0, 40)}'; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`);
    }
    if (name in out) throw new RequestError(400, 'bad_query', `Query parameter '${name}' is given more than once`);
    out[name] = value;
  }
  return out;
}

function pathParameter(event: Event, name: string, pattern: RegExp, what: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || !pattern.test(value)) {
    throw new RequestError(400, 'bad_path', `'${String(value).slice(0, 80)}' is not ${what}`);
  }
  return value;
}

/** The JSON body of a POST, at most MAX_BODY_BYTES. */
function body(event: Event): Record<string, unknown> {
  const text = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new RequestError(413, 'body_too_large', `The body has ${Buffer.byteLength(text)} bytes; at most ${MAX_BODY_BYTES} are accepted`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RequestError(400, 'bad_json', 'The body is not JSON: send {"sensorId": "...", "level": "WARNING" | "CRITICAL", "since": <epoch ms>}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RequestError(400, 'bad_json', 'The body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * A value read at most every `ttlMs`; callers during a read share it; a failed read is not kept.
 * Under steady load (the value is less than 1.5 × ttlMs old) a caller gets the value it has while
 * the next read runs, and while a read is under way every caller gets the last value unless it is
 * more than 3 × ttlMs old: no request of a busy container waits for DynamoDB, however long a read
 * takes. A lone caller (a quiet night, one controller) waits for a fresh read rather than see data a
 * poll old. A value's age counts from the start of the read that made it.
 */
export class Cached<T> {
  private value?: { at: number; data: T };
  private inFlight?: Promise<T>;
  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}
  private refresh(nowMs: number): Promise<T> {
    this.inFlight ??= this.load()
      .then((data) => {
        this.value = { at: nowMs, data };
        return data;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
  get(nowMs: number): Promise<T> {
    const age = this.value ? nowMs - this.value.at : Number.POSITIVE_INFINITY;
    if (age < this.ttlMs) return Promise.resolve(this.value!.data);
    if (this.inFlight && age < this.ttlMs * 3) return Promise.resolve(this.value!.data);
    if (age < this.ttlMs * 1.5) {
      // A failed background read is retried by the next caller; the error is the read's own.
      this.refresh(nowMs).catch(() => undefined);
      return Promise.resolve(this.value!.data);
    }
    return this.refresh(nowMs);
  }
}

/** The API of one container: its caches, and a function from a request to its answer. */
export type ConsoleApi = ((event: Event, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<Result>) & {
  /** DynamoDB read units and AWS calls this container has spent so far (for the benchmark). */
  stats(): { readUnits: number; reportedUnits: number; calls: Record<string, number> };
};

export function createConsoleApi(deps: ConsoleApiDeps): ConsoleApi {
  const { config, clients } = deps;
  const now = deps.now ?? Date.now;
  const write = deps.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log: Logger = jsonLogger(write, now);
  const settings: ConsoleSettings = config;
  const dynamodb = clients.dynamodb as DynamoDBClient;
  // Reads shared by requests carry the cache's own meter, so each read is counted once.
  const shared = { counter: new CallCounter(), meter: new ReadMeter() };
  const decoder = new StatusDecoder();
  let io: IoContext = ioFor(now, write, 9_000);

  const positions = new Cached<Positions>(CACHE_MS.positions, () => sensorPositions(clients.iot as IoTClient, config.sensorThingType, io, shared.counter));
  /** Positions are a nicety: a registry that cannot be read leaves the map schematic, it does not fail the city. */
  const positionsOrNone = async (): Promise<Positions> => {
    try {
      return await positions.get(now());
    } catch (error) {
      log('WARN', 'Sensor positions not read (the map stays schematic)', { error: (error as Error).message });
      return new Map();
    }
  };

  /**
   * What one refresh reads (every sensor's status, the alerts in force) and what every request of
   * the next second is answered from: the city's JSON is made once here, not per request.
   */
  const model = new Cached(CACHE_MS.statuses, async () => {
    const [scanned, active, p] = await Promise.all([
      scanSensorStatus(dynamodb, config.sensorStatusTableName, io, shared.counter, shared.meter, decoder),
      activeAlertStates(dynamodb, config.alertStateTableName, io, shared.counter, shared.meter),
      positionsOrNone(),
    ]);
    const statuses = latestStatuses(scanned);
    const at = now();
    const byZone = sensorsByZone(statuses, at, settings);
    return { statuses, active, positions: p, byZone, at, cityJson: JSON.stringify(citySnapshot(statuses, active, p, at, settings, byZone)) };
  });
  const recent = new Cached(CACHE_MS.recentAlerts, async () => {
    const { byZone } = await model.get(now());
    return recentAlertStates(dynamodb, config.alertStateTableName, [...byZone.keys()], now() - RECENT_ALERTS_MS, io, shared.counter, shared.meter);
  });
  const trends = new Map<string, Cached<Awaited<ReturnType<typeof zoneTrend>>>>();
  let alertsBody: { model: unknown; recent: unknown; json: string } | undefined;
  /** A cached body, with the time it is served at (the page adds what passed since to the data age). */
  const served = (status: number, bodyJson: string): Result => ({ statusCode: status, headers: HEADERS, body: `{"servedAtMs":${now()},${bodyJson.slice(1)}` });

  const routes: Record<ConsoleRoute, (event: Event, who: { user: string; groups: string[] }) => Promise<Result>> = {
    async city(event) {
      query(event, []);
      return served(200, (await model.get(now())).cityJson);
    },
    async zone(event) {
      const zoneId = pathParameter(event, 'zoneId', ZONE_PATTERN, 'a zone id (1-64 of A-Z a-z 0-9 _ . : -)');
      query(event, []);
      const m = await model.get(now());
      const view = zoneView(zoneId, m.byZone, m.active, m.positions, m.at, settings);
      if (!view) throw new RequestError(404, 'unknown_zone', `No sensor reports in zone ${zoneId}`);
      let trend = trends.get(zoneId);
      if (!trend) trends.set(zoneId, (trend = new Cached(CACHE_MS.trend, () => zoneTrend(clients.cloudwatch as CloudWatchClient, config.metricsNamespace, zoneId, now(), io, shared.counter))));
      const zoneTrendOrNone = await trend.get(now()).catch((error: Error) => {
        log('WARN', 'Zone trend not read', { zone_id: zoneId, error: error.message });
        return null;
      });
      return json(200, { ...view, trend: zoneTrendOrNone, generatedAtMs: m.at, servedAtMs: now() });
    },
    async alerts(event) {
      query(event, []);
      const [m, r] = await Promise.all([model.get(now()), recent.get(now())]);
      // The sentences of a refresh are written once, for every request until the next one.
      if (alertsBody?.model !== m || alertsBody.recent !== r) {
        const list = alertList(m.active, r, m.statuses, settings);
        alertsBody = {
          model: m,
          recent: r,
          json: JSON.stringify({
            active: list.active.slice(0, MAX_ALERTS_LISTED),
            recent: list.recent.slice(0, MAX_ALERTS_LISTED),
            activeTotal: list.active.length,
            recentTotal: list.recent.length,
            generatedAtMs: m.at,
          }),
        };
      }
      return served(200, alertsBody.json);
    },
    async sensors(event) {
      query(event, []);
      const [p, m] = await Promise.all([positionsOrNone(), model.get(now())]);
      return json(200, { sensors: [...p].map(([sensorId, { lat, lon }]) => ({ sensorId, zoneId: m.statuses.get(sensorId)?.zoneId ?? null, lat, lon })), generatedAtMs: now() });
    },
    async sensorRollups(event) {
      const sensorId = pathParameter(event, 'sensorId', ID_PATTERN, 'a sensor id (1-128 of A-Z a-z 0-9 _ . : -)');
      const q = query(event, ['minutes']);
      const minutes = q.minutes === undefined ? ROLLUP_MINUTES.default : Number(q.minutes);
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > ROLLUP_MINUTES.max) {
        throw new RequestError(400, 'bad_query', `minutes must be a whole number from 1 to ${ROLLUP_MINUTES.max}, got '${String(q.minutes).slice(0, 20)}'`);
      }
      const known: SensorStatus | undefined = (await model.get(now())).statuses.get(sensorId);
      const rows = await sensorRollups(dynamodb, config.readingsTableName, sensorId, now() - minutes * 60_000, io, shared.counter, shared.meter);
      if (!known && rows.length === 0) throw new RequestError(404, 'unknown_sensor', `No reading of sensor ${sensorId} is known`);
      return json(200, { sensorId, zoneId: known?.zoneId ?? null, minutes, rollups: rows, generatedAtMs: now() });
    },
    async acknowledge(event, who) {
      query(event, []);
      const input = body(event);
      const extra = Object.keys(input).filter((k) => !['sensorId', 'level', 'since'].includes(k));
      if (extra.length > 0) throw new RequestError(400, 'bad_body', `Unknown field(s) ${extra.slice(0, 5).join(', ')}; the body takes sensorId, level and since`);
      const { sensorId, level, since } = input;
      if (typeof sensorId !== 'string' || !ID_PATTERN.test(sensorId)) throw new RequestError(400, 'bad_body', 'sensorId must be a sensor id (1-128 of A-Z a-z 0-9 _ . : -)');
      if (level !== 'WARNING' && level !== 'CRITICAL') throw new RequestError(400, 'bad_body', "level must be 'WARNING' or 'CRITICAL'");
      if (typeof since !== 'number' || !Number.isSafeInteger(since) || since <= 0) throw new RequestError(400, 'bad_body', 'since must be the alert\'s time, in epoch milliseconds');
      const { counter, meter } = shared;
      const state = await getAlertState(dynamodb, config.alertStateTableName, sensorId, io, counter, meter);
      if (!state) throw new RequestError(404, 'unknown_alert', `Sensor ${sensorId} has no alert`);
      if (state.level !== level || state.lastAlertAt[level as Level] !== since) {
        throw new RequestError(409, 'alert_changed', `Sensor ${sensorId} is no longer ${level} since ${new Date(since).toISOString()} (now ${state.level}): reload the alerts`);
      }
      const existing = acknowledgementOf(state, level, since);
      const atIso = new Date(now()).toISOString();
      const outcome = existing ? 'already' : await acknowledgeAlert(dynamodb, config.alertStateTableName, { sensorId, level, sinceMs: since, by: who.user, atIso }, io, counter);
      const stored = outcome === 'already' ? (existing ?? acknowledgementOf((await getAlertState(dynamodb, config.alertStateTableName, sensorId, io, counter, meter))!, level, since)) : { by: who.user, atMs: Date.parse(atIso) };
      // The audit line: who acknowledged which alert, and whether it was the first time.
      log('INFO', 'Alert acknowledged', { sensor_id: sensorId, zone_id: state.zoneId, level, since: new Date(since).toISOString(), by: who.user, groups: who.groups, first: outcome === 'acknowledged', acknowledged_by: stored?.by });
      return json(200, { sensorId, level, since, acknowledged: stored, first: outcome === 'acknowledged' });
    },
  };

  const handle = async (event: Event, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<Result> => {
    const started = now();
    const requestId = event.requestContext?.requestId ?? randomUUID();
    io = ioFor(now, write, Math.max(1_000, (context?.getRemainingTimeInMillis?.() ?? 10_000) - 1_000));
    const meterBefore = shared.meter.readUnits;
    let status = 500;
    try {
      const route = routeOf(event);
      const who = caller(event);
      const result = await routes[route](event, who);
      status = result.statusCode ?? 200;
      return result;
    } catch (error) {
      if (error instanceof RequestError) {
        status = error.status;
        return json(error.status, { error: { code: error.code, message: error.message } });
      }
      status = 500;
      log('ERROR', 'Console API request failed', { request_id: requestId, route: event.routeKey, error: (error as Error).message, name: (error as Error).name });
      return json(500, { error: { code: 'internal', message: `The console API could not answer (request ${requestId}); it is logged` } });
    } finally {
      log('INFO', 'Console API request', {
        request_id: requestId,
        route: event.routeKey,
        status,
        ms: now() - started,
        read_units: Math.round((shared.meter.readUnits - meterBefore) * 10) / 10,
        // This container's reads so far (what the benchmark adds up).
        read_units_total: shared.meter.readUnits,
        read_units_reported: shared.meter.reportedUnits,
      });
    }
  };
  return Object.assign(handle, { stats: () => ({ readUnits: shared.meter.readUnits, reportedUnits: shared.meter.reportedUnits, calls: { ...shared.counter.counts } }) });
}

function ioFor(now: () => number, write: (line: string) => void, budgetMs: number): IoContext {
  return invocationIo({ deadlineMs: now() + budgetMs, now, write, tuning: { callTimeoutMs: 3_000, concurrency: 16 } });
}

let lambdaApi: ConsoleApi | undefined;

/** The Lambda handler (`index.consoleApi`): configuration, clients and caches once per container. */
export async function consoleApi(event: Event, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<Result> {
  lambdaApi ??= createConsoleApi({
    config: readConsoleConfig(process.env),
    // The SDK retries once; the adapters retry on top, within the request's deadline. AWS_ENDPOINT_URL reaches an emulator.
    clients: { dynamodb: new DynamoDBClient({ maxAttempts: 2 }), iot: new IoTClient({ maxAttempts: 2 }), cloudwatch: new CloudWatchClient({ maxAttempts: 2 }) },
  });
  return lambdaApi(event, context);
}
