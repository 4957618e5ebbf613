/**
 * What the traffic controllers' console costs a city a month: CloudFront, the HTTP API, the API
 * function, its DynamoDB reads, the processor's sensor-status writes, Cognito and the logs, for a
 * number of controllers each with a page open around the clock. Pure; every price is a us-east-1
 * list price with its source, every assumption with its reason (the API's behaviour is
 * handlers/processor/console-api.ts, measured by `npm run bench:console`).
 */
import { fmt, gb, perMillion } from './units';

/** Prices the console adds to aws-figures.ts's (USD). */
export const CONSOLE_PRICES = {
  cloudfront: {
    // https://aws.amazon.com/cloudfront/pricing/ (United States, Mexico and Canada; Europe is the same)
    httpsRequestsPer10kUsd: 0.01,
    dataOutPerGbUsd: 0.085,
    functionInvocationsPerMillionUsd: 0.1,
  },
  // https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs: first 300 million a month; metered in 512 KB increments)
  httpApiRequestsPerMillionUsd: 1.0,
  // https://aws.amazon.com/cognito/pricing/ (Lite plan: no charge for the first 10,000 monthly active users)
  cognito: { freeMonthlyActiveUsers: 10_000, liteMauUsd: 0.0055 },
  // https://aws.amazon.com/cloudwatch/pricing/ (GetMetricData: per 1,000 metrics requested)
  getMetricDataPer1kMetricsUsd: 0.01,
} as const;

/** How controllers use the console, and what each answer costs. */
export const CONSOLE_ASSUMPTIONS = {
  /** The page polls the city and the alerts every 2 s (console/src/app.js POLL_MS). */
  pollSeconds: 2,
  requestsPerPoll: 2,
  /** Half the controllers keep a zone panel open (a third request each poll). */
  zonePanelShare: 0.5,
  /** Answers are gzip-compressed by CloudFront (Compress: true): JSON to about a quarter. */
  compression: 0.25,
  /** A zone in the city's answer, and a sensor in a zone panel (JSON bytes). */
  cityBytesPerZone: 330,
  zoneBytesPerSensor: 230,
  /** A sentence in the alerts' answer; alerts in force listed on average (at most 200 are). */
  alertBytes: 330,
  alertsListed: 50,
  /** Share of sensors in alert on average: the alert-state items each refresh reads. */
  inAlertShare: 0.01,
  /**
   * Containers serving the API: at ~1.25 requests/s per controller of ~5 ms each, one container
   * is busy about 30% of the time at 50 controllers; two are assumed (each refreshes once a second).
   */
  containers: 2,
  /** Refreshes a container makes a second (console-api.ts CACHE_MS.statuses), and recent alerts every 5 s. */
  refreshesPerSecond: 1,
  recentRefreshesPerSecond: 0.2,
  /** A sensor in a status item: its id and value (~45 bytes). */
  statusBytesPerSensor: 45,
  /** A request answered from a container's cache, and a refresh of 50,000 sensors (scaled by sensors). */
  requestMs: 5,
  refreshMsPer50kSensors: 150,
  functionGb: 1769 / 1024,
  /** API access log line and function log line per request (bytes). */
  logBytesPerRequest: 650,
  /** A zone panel asks for the zone's trend (2 metrics) every 30 s per container. */
  trendMetricsPerSecondPerPanel: 2 / 30,
} as const;

export interface ConsoleCostInput {
  controllers: number;
  sensors: number;
  zones: number;
  /** Processor invocations a second and shards, for the status writes. */
  invocationsPerSecond: number;
  shards: number;
  /** SensorStatusItems as recommended for the city. */
  statusItems: number;
  secondsPerMonth: number;
  prices: { lambdaRequestsPerMillionUsd: number; lambdaGbSecondUsd: number; dynamoReadPerMillionUsd: number; dynamoWritePerMillionUsd: number; logsPerGbUsd: number };
}

export interface ConsoleCostLine {
  what: string;
  monthlyUsd: number;
  detail: string;
}


/** The console's monthly cost, line by line. */
export function consoleCosts(input: ConsoleCostInput): { lines: ConsoleCostLine[]; totalUsd: number; requestsPerSecond: number; readUnitsPerSecond: number } {
  const A = CONSOLE_ASSUMPTIONS;
  const P = CONSOLE_PRICES;
  const S = input.secondsPerMonth;
  const polls = input.controllers / A.pollSeconds;
  const requestsPerSecond = polls * (A.requestsPerPoll + A.zonePanelShare);
  const sensorsPerZone = input.sensors / Math.max(1, input.zones);
  const bytesPerSecond =
    polls * (A.cityBytesPerZone * input.zones + A.alertBytes * A.alertsListed + A.zonePanelShare * A.zoneBytesPerSensor * sensorsPerZone) * A.compression;

  // A refresh: the status items (Scan: their total rounded up to 4 KB, eventually consistent), the
  // elevated index's keys, each alert-state item in force (BatchGetItem: each rounded up to 4 KB).
  const statusReadUnits = Math.ceil((input.sensors * A.statusBytesPerSensor) / 4_096) * 0.5;
  const alertReadUnits = Math.ceil(input.sensors * A.inAlertShare) * 0.5 + Math.ceil((input.sensors * A.inAlertShare * 60) / 4_096) * 0.5;
  const recentReadUnits = input.zones * 0.5;
  const readUnitsPerSecond = A.containers * (A.refreshesPerSecond * (statusReadUnits + alertReadUnits) + A.recentRefreshesPerSecond * recentReadUnits);

  // The processor's status writes: each batch writes the items its sensors fall in (a shard covers
  // about statusItems / shards of them), each costing its whole size in 1 KB write units.
  const itemsPerBatch = Math.min(input.statusItems, input.statusItems / Math.max(1, input.shards) + 1);
  const itemKb = Math.max(1, Math.ceil((input.sensors / input.statusItems) * (A.statusBytesPerSensor / 1_024)));
  const writeUnitsPerSecond = input.invocationsPerSecond * itemsPerBatch * itemKb;

  const functionSeconds = requestsPerSecond * (A.requestMs / 1000) + A.containers * A.refreshesPerSecond * (A.refreshMsPer50kSensors / 1000) * (input.sensors / 50_000);
  const lines: ConsoleCostLine[] = [
    {
      what: 'CloudFront',
      monthlyUsd: (requestsPerSecond * S * P.cloudfront.httpsRequestsPer10kUsd) / 10_000 + gb(bytesPerSecond * S) * P.cloudfront.dataOutPerGbUsd,
      detail: `${fmt(requestsPerSecond)} HTTPS requests/s, ${fmt(gb(bytesPerSecond * S))} GB/month compressed (the always-free 10 M requests and 1 TB not counted)`,
    },
    {
      what: 'API Gateway (HTTP API)',
      monthlyUsd: perMillion(requestsPerSecond * S, P.httpApiRequestsPerMillionUsd),
      detail: `${fmt(requestsPerSecond)} requests/s, each answer under 512 KB`,
    },
    {
      what: 'Lambda (console API)',
      monthlyUsd: perMillion(requestsPerSecond * S, input.prices.lambdaRequestsPerMillionUsd) + functionSeconds * S * A.functionGb * input.prices.lambdaGbSecondUsd,
      detail: `${fmt(requestsPerSecond)} invocations/s of ~${A.requestMs} ms from the cache; ${A.containers} containers refreshing once a second (~${fmt(A.refreshMsPer50kSensors * (input.sensors / 50_000))} ms each) at ${fmt(A.functionGb)} GB`,
    },
    {
      what: 'DynamoDB reads (console API, on demand)',
      monthlyUsd: perMillion(readUnitsPerSecond * S, input.prices.dynamoReadPerMillionUsd),
      detail: `${fmt(readUnitsPerSecond)} read units/s: ${A.containers} containers × a refresh a second (status items ${fmt(statusReadUnits)}, ${fmt(A.inAlertShare * 100)}% of sensors in alert ${fmt(alertReadUnits)}) and recent alerts every 5 s; ${fmt(readUnitsPerSecond / Math.max(1, polls) / Math.max(1, input.zones))} per zone per city refresh`,
    },
    {
      what: 'DynamoDB writes (sensor status, on demand)',
      monthlyUsd: perMillion(writeUnitsPerSecond * S, input.prices.dynamoWritePerMillionUsd),
      detail: `${fmt(input.invocationsPerSecond * itemsPerBatch)} status item writes/s of ${itemKb} KB (each processor batch writes the items of its sensors)`,
    },
    {
      what: 'Cognito (Lite)',
      monthlyUsd: Math.max(0, input.controllers - P.cognito.freeMonthlyActiveUsers) * P.cognito.liteMauUsd,
      detail: `${fmt(input.controllers)} monthly active users (the first ${fmt(P.cognito.freeMonthlyActiveUsers)} free)`,
    },
    {
      what: 'CloudWatch (console)',
      monthlyUsd:
        gb(requestsPerSecond * A.logBytesPerRequest * S) * input.prices.logsPerGbUsd +
        (input.controllers * A.zonePanelShare * A.trendMetricsPerSecondPerPanel * S * P.getMetricDataPer1kMetricsUsd) / 1_000,
      detail: 'API access logs and the function\'s request lines; zone trends (GetMetricData)',
    },
  ].map((l) => ({ ...l, monthlyUsd: Math.round(l.monthlyUsd * 100) / 100 }));
  return { lines, totalUsd: Math.round(lines.reduce((n, l) => n + l.monthlyUsd, 0)), requestsPerSecond, readUnitsPerSecond };
}
