/**
 * Phase 1, the stack: sized for the fleet, the processor bundle, moto started (its processes
 * registered for teardown) and the template deployed into it by CreateStack; the processor's
 * environment as deployed, and the AWS clients the later phases share.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetFunctionConfigurationCommand, LambdaClient, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ENV } from '../../../contract';
import { plan, PLAN_DEFAULTS } from '../../../template/capacity';
import { LogicalId } from '../../../template/names';
import { bundleProcessor } from '../../bundle';
import { motoClientConfig, type Moto } from '../../lib/moto';
import { DIST } from '../../lib/paths';
import { owned } from '../owned';
import { startSimMoto, type SimMoto } from '../moto-processes';
import { stackView, type StackView } from '../stack-view';
import type { Thresholds } from '../traffic';
import type { PhaseContext } from './context';

export interface SimStack {
  view: StackView;
  bundle: { zipPath: string; key: string };
  motos: SimMoto;
  /** moto for every service (DynamoDB too with one process). */
  moto: Moto;
  /** Client configuration for `moto`. */
  aws: ReturnType<typeof motoClientConfig>;
  physicalIds: Record<string, string>;
  outputs: Record<string, string>;
  /** The processor function as deployed. */
  fn: FunctionConfiguration;
  /** The processor's environment as deployed (the lake phase completes it). */
  env: Record<string, string>;
  thresholds: Thresholds;
  rollupWindowMs: number;
  clients: { lambda: LambdaClient; sqs: SQSClient; kinesis: KinesisClient; dynamodb: DynamoDBClient };
}

/** The bundle `npm run build:lambda` made, or a fresh one. */
async function builtBundle(): Promise<{ zipPath: string; key: string }> {
  const zips = existsSync(DIST) ? readdirSync(DIST).filter((f) => /^processor-[0-9a-f]{12}\.zip$/.test(f)) : [];
  if (zips.length === 1) return { zipPath: join(DIST, zips[0]!), key: zips[0]! };
  const bundle = await bundleProcessor();
  return { zipPath: bundle.zipPath, key: bundle.key };
}

/** A function's environment variables as strings (moto hands Number parameters back as numbers). */
export function functionEnv(fn: FunctionConfiguration): Record<string, string> {
  return Object.fromEntries(Object.entries(fn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
}

export async function deployStack({ options, print, environment, workDir, teardown }: PhaseContext): Promise<SimStack> {
  // The stack sized for the fleet as npm run plan sizes a city's (template/capacity/): shards with
  // headroom under the per-shard write limit, lanes per shard, concurrency, status items, and the
  // zone index's write shards (the template's default, 10, is a 50,000-sensor city's: each detector
  // run queries every zone's every shard, 10 times the queries a 1,000-sensor city needs).
  const sized = plan({ ...PLAN_DEFAULTS, sensors: options.sensors, hz: options.hz, zones: options.zones }).recommended;
  const parameters: Record<string, string> = {
    EnvironmentSuffix: environment,
    ThrowawayEnvironment: 'true',
    KinesisShardCount: String(sized.KinesisShardCount),
    ProcessorParallelizationFactor: String(sized.ProcessorParallelizationFactor),
    ProcessorReservedConcurrency: String(sized.ProcessorReservedConcurrency),
    SensorStatusItems: String(sized.SensorStatusItems),
    ZoneIndexShards: String(sized.ZoneIndexShards),
    ...options.stackParameters,
  };
  const view = stackView(parameters);

  const bundle = await builtBundle();
  print(`Processor: ${bundle.key} (the built bundle), one container per lane of the event source mapping.`);
  // moto through the launcher (moto_server_fast.py says why), DynamoDB in a second process by default (moto-processes.ts).
  const motos = await startSimMoto(workDir, options.motoProcesses ?? 2, (pid) => owned.process(pid));
  teardown.add(() => motos.stop().then(() => motos.pids.forEach((pid) => owned.released(pid))));
  const moto = motos.main;
  print(
    `moto_server (pid ${moto.pid}) on ${moto.endpoint}${motos.processes === 2 ? `, DynamoDB from a second one (pid ${motos.dynamodb.pid}) on ${motos.dynamodb.endpoint}` : ''}; CreateStack of templates/TapStack.yml as tapstack-${environment}${motos.processes === 2 ? ' into each' : ''}…`,
  );
  const aws = motoClientConfig(moto.endpoint);
  const { physicalIds, outputs } = await motos.deploy(`tapstack-${environment}`, parameters, {
    bucket: 'tapstack-sim-code',
    key: bundle.key,
    body: readFileSync(bundle.zipPath),
  });

  // The function's environment as deployed.
  const lambda = new LambdaClient(aws);
  const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalIds[LogicalId.ProcessorFunction] }));
  const env = functionEnv(fn);
  const thresholds: Thresholds = {
    warning: Number(env[ENV.warningThreshold]),
    critical: Number(env[ENV.criticalThreshold]),
    hysteresis: Number(env[ENV.alertHysteresisPoints]),
  };
  return {
    view,
    bundle,
    motos,
    moto,
    aws,
    physicalIds,
    outputs,
    fn,
    env,
    thresholds,
    rollupWindowMs: Number(env[ENV.rollupWindowSeconds]) * 1000,
    clients: {
      lambda,
      sqs: new SQSClient({ ...aws, useQueueUrlAsEndpoint: false }),
      kinesis: new KinesisClient({ ...aws, requestHandler: new NodeHttpHandler() }),
      dynamodb: new DynamoDBClient(motoClientConfig(motos.dynamodb.endpoint)),
    },
  };
}
