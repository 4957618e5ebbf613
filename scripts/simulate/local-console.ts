/**
 * The console in the local pipeline (`npm start`): the console API as Lambda runs it (a container
 * of the built bundle, `index.consoleApi`, with the function's environment as moto deployed it),
 * the local token issuer in place of Cognito, the sensors' positions in moto's IoT registry (as
 * `npm run provision` puts them: the thing's `location` attribute), and the processor's per-zone
 * metrics forwarded from its Embedded Metric Format lines to moto's CloudWatch (which CloudWatch
 * Logs does in AWS), so that a zone's trend reads the same API as deployed.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { CreateThingCommand, CreateThingTypeCommand, IoTClient } from '@aws-sdk/client-iot';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { FastifyPluginAsync } from 'fastify';
import { CONSOLE_SETTINGS, METRIC } from '../../contract';
import { LogicalId } from '../../template/names';
import { THING_LAYOUT } from '../../template/layers/provisioning';
import { CONSOLE_DIST } from '../build-console';
import { LocalIssuer } from '../lib/local-auth';
import { motoClientConfig } from '../lib/moto';
import { consolePlugin, type ConsoleInvoke } from './console-server';
import { LambdaPool } from './lambda-pool';

export interface LocalConsoleOptions {
  motoEndpoint: string;
  /** The containers' endpoint variables (AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_DYNAMODB when DynamoDB is a moto of its own); default: AWS_ENDPOINT_URL = motoEndpoint. */
  endpointEnv?: Record<string, string>;
  physicalIds: Record<string, string>;
  zipPath: string;
  environment: string;
  sensors: readonly { sensorId: string; zoneId: string; lat: number; lon: number }[];
  /** Lines for the operator. */
  print?: (line: string) => void;
}

export interface LocalConsole {
  issuer: LocalIssuer;
  /** The console API handler, on one API Gateway event. */
  invoke: ConsoleInvoke;
  /** The console's routes, for the dashboard's server (bind the issuer once it listens). */
  plugin: FastifyPluginAsync;
  /** A line the processor wrote: its per-zone EMF metrics go to moto's CloudWatch. */
  onProcessorLog(line: string): void;
  /** The PID of the API's container (once it has started). */
  pids(): number[];
  close(): Promise<void>;
}

/** The metrics a zone's trend reads. */
const FORWARDED = new Set<string>([METRIC.zoneCongestionIndex, METRIC.zoneVehicleCount]);

/** The metric data of one EMF line (those of FORWARDED), by namespace. */
export function emfMetricData(line: string): { namespace: string; data: MetricDatum[] }[] {
  if (!line.includes('"_aws"')) return [];
  let doc: Record<string, unknown> & { _aws?: { Timestamp?: number; CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[] } };
  try {
    doc = JSON.parse(line);
  } catch {
    return [];
  }
  const out: { namespace: string; data: MetricDatum[] }[] = [];
  for (const directive of doc._aws?.CloudWatchMetrics ?? []) {
    const data: MetricDatum[] = [];
    for (const metric of directive.Metrics.filter((m) => FORWARDED.has(m.Name))) {
      const raw = doc[metric.Name];
      const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
      if (values.length === 0) continue;
      for (const dims of directive.Dimensions) {
        data.push({
          MetricName: metric.Name,
          Dimensions: dims.map((name) => ({ Name: name, Value: String(doc[name]) })),
          Timestamp: new Date(doc._aws?.Timestamp ?? Date.now()),
          Values: values,
          Unit: (metric.Unit as MetricDatum['Unit']) ?? 'None',
        });
      }
    }
    if (data.length) out.push({ namespace: directive.Namespace, data });
  }
  return out;
}

export async function startLocalConsole(options: LocalConsoleOptions): Promise<LocalConsole> {
  const aws = motoClientConfig(options.motoEndpoint);
  const fn = await new LambdaClient(aws).send(new GetFunctionConfigurationCommand({ FunctionName: options.physicalIds[LogicalId.ConsoleApiFunction] }));
  const env = Object.fromEntries(Object.entries(fn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));

  // The registry: moto's CreateStack skips IoT types, so the thing type and things are made here.
  const thingType = env[CONSOLE_SETTINGS.sensorThingType.env]!;
  const iot = new IoTClient(aws);
  await iot.send(new CreateThingTypeCommand({ thingTypeName: thingType })).catch(() => undefined);
  for (const s of options.sensors) {
    await iot.send(
      new CreateThingCommand({
        thingName: s.sensorId,
        thingTypeName: thingType,
        attributePayload: { attributes: { [THING_LAYOUT.attributes.zone]: s.zoneId, [THING_LAYOUT.attributes.location]: `${s.lat.toFixed(6)},${s.lon.toFixed(6)}` } },
      }),
    );
  }
  options.print?.(`Console: ${options.sensors.length} things of type ${thingType} with their positions in moto's registry.`);

  const pool = new LambdaPool({
    zipPath: options.zipPath,
    env: { ...env, ...(options.endpointEnv ?? { AWS_ENDPOINT_URL: options.motoEndpoint }), AWS_LAMBDA_FUNCTION_NAME: fn.FunctionName ?? 'console-api' },
    timeoutSeconds: fn.Timeout ?? 10,
    handlerExport: 'consoleApi',
  });
  const invoke: ConsoleInvoke = async (event) => {
    const outcome = await pool.invoke(0, event);
    if (!outcome.ok) return { statusCode: 502, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'Internal Server Error' }) };
    return outcome.response as unknown as APIGatewayProxyStructuredResultV2;
  };

  const cloudwatch = new CloudWatchClient(aws);
  let queued: { namespace: string; data: MetricDatum[] }[] = [];
  const flush = async () => {
    const batch = queued;
    queued = [];
    const byNamespace = new Map<string, MetricDatum[]>();
    for (const q of batch) byNamespace.set(q.namespace, [...(byNamespace.get(q.namespace) ?? []), ...q.data]);
    for (const [Namespace, data] of byNamespace) {
      // PutMetricData takes 1,000 data a call.
      for (let i = 0; i < data.length; i += 1000) await cloudwatch.send(new PutMetricDataCommand({ Namespace, MetricData: data.slice(i, i + 1000) })).catch(() => undefined);
    }
  };
  const issuer = await LocalIssuer.create('http://127.0.0.1/auth');
  const plugin = consolePlugin({ distDir: CONSOLE_DIST, issuer, invoke, environment: options.environment });
  // Started last: nothing above may throw once a timer holds the process open.
  const flusher = setInterval(() => void flush(), 1000);
  return {
    issuer,
    invoke,
    plugin,
    onProcessorLog: (line) => {
      const found = emfMetricData(line);
      if (found.length) queued.push(...found);
    },
    pids: () => [...pool.pids().values()],
    close: async () => {
      clearInterval(flusher);
      await pool.close();
    },
  };
}
