/**
 * One simulation: moto with the stack made by CreateStack of the template, a local PKI, the
 * broker with the sensor policy and the topic rule, the emulated event source mapping invoking
 * the built bundle, a local subscriber for alerts, the fleet; the books kept as readings move;
 * everything stopped by PID at the end (also when something fails on the way).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetItemCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteArchiveCommand, EventBridgeClient, ListArchivesCommand, ListTargetsByRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import { CreateDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { IoTClient } from '@aws-sdk/client-iot';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ENV, READINGS_TABLE } from '../../contract';
import { plan, PLAN_DEFAULTS } from '../../src/capacity';
import { readConfig } from '../../handlers/processor/config';
import { validateRecord } from '../../handlers/processor/core/validate';
import { THING_LAYOUT } from '../../src/layers/provisioning';
import { DEFAULTS } from '../../src/config';
import { buildTemplate } from '../../src/index';
import { LogicalId } from '../../src/names';
import { storedOffsets } from '../../handlers/processor/sinks/readings';
import { bundleProcessor } from '../bundle';
import { motoClientConfig, type Moto } from '../lib/moto';
import { startSimMoto, type MotoProcesses } from './moto-processes';
import { DIST } from '../lib/paths';
import { ensureZoneGroups } from '../provision/iot';
import { startBroker, type LocalBroker } from './broker';
import { CpuMeter, loadAverage } from './cpu';
import { ShardPoller, type ShardSource, type StreamRecord } from './esm';
import { startLocalConsole, type LocalConsole } from './local-console';
import type { FleetMessage, FleetSensor, FleetSettings } from './fleet';
import { applyRule, compileRule } from './iot-rules';
import { KinesisWriter } from './kinesis-writer';
import { LambdaPool } from './lambda-pool';
import { Ledger, payloadHash, percentile, recordKey, type Entry, type ExternalReading } from './ledger';
import { owned } from './owned';
import { writeConnection, type Connection } from './connection';
import { createLocalPki, sensorIdentity } from './pki';
import { LocalRegistry } from './registry';
import { stackView, type StackView } from './stack-view';
import type { SimSnapshot } from './state';
import { cityLayout, type Scenario, type Thresholds } from './traffic';

export interface SimulationOptions {
  sensors: number;
  hz: number;
  zones: number;
  /** Seconds of traffic; undefined = until stopped. */
  durationSeconds?: number;
  scenario: Scenario;
  /** Environment suffix of the throwaway stack. */
  environment?: string;
  /** Stack parameters over the template's defaults (shards and concurrency are sized from the fleet otherwise). */
  stackParameters?: Record<string, string>;
  wavePeriodSeconds?: number;
  daySeconds?: number;
  silentAfterSeconds?: number;
  /** Longest wait for readings in flight after the fleet stops. */
  drainSeconds?: number;
  /** Lines for the operator (alerts, phases); none when undefined. */
  print?: (line: string) => void;
  /** Once a second. */
  onTick?: (snapshot: SimSnapshot, simulation: Simulation) => void;
  /** Called once the fleet is connected, before the run's clock counts (tests misbehave here). */
  onReady?: (simulation: Simulation) => Promise<void>;
  /** Aborts the run early (Ctrl-C). */
  signal?: AbortSignal;
  /** The weather text of every reading (free text from the sensor; the console shows it as text). */
  weatherCondition?: string;
  /** Where the connection file goes (default: a new temporary directory); removed at the end. */
  out?: string;
  /** How often the health detector runs (default: the template's schedule; tests run it faster). */
  detectorIntervalSeconds?: number;
  /** The device whose certificate the connection file holds: a fleet sensor's id, or a thing outside the fleet (default sensor-local). */
  device?: string;
  /** moto processes: 2 (default) answers DynamoDB from a second one (moto-processes.ts says how and why), 1 runs every service in one. */
  motoProcesses?: MotoProcesses;
}

/** The device of the connection file by default: a thing outside the fleet, so your publishes disturb no fleet sensor. */
export const LOCAL_DEVICE = 'sensor-local';

export interface Simulation {
  ledger: Ledger;
  view: StackView;
  env: Record<string, string>;
  broker: LocalBroker;
  /** moto for every service (DynamoDB too with one process). */
  moto: Moto;
  /** The moto answering DynamoDB (a second process, or `moto`). */
  dynamodb: Moto;
  pki: { caPem: string };
  /** The IoT registry the broker consults: the fleet's things and certificates (tests add their own). */
  registry: LocalRegistry;
  /** Identities of the fleet's sensors (for tests that misbehave on purpose). */
  identities: FleetSensor[];
  publishTopic: string;
  cpu: CpuMeter;
  refusals: { what: 'connect' | 'publish'; thing: string; detail: string }[];
  /** Records the rule made for things outside the fleet, by record key (shard and sequence number, ledger.ts recordKey): the thing, and the quarantine reason once quarantined. */
  outsiders: ReadonlyMap<string, { thing: string; reason?: string }>;
  snapshot(): SimSnapshot;
  /** A new certificate from the local CA (a device outside the fleet). */
  issueIdentity(sensorId: string, zoneId: string): Promise<{ keyPem: string; certificatePem: string }>;
  /** The PIDs of every process the simulation started, by role. */
  pids(): Record<string, number[]>;
  /** The traffic controllers' console: its API handler, token issuer and routes (scripts/simulate/local-console.ts). */
  console: LocalConsole;
  /** The connection file and the commands that use it. */
  connection: Connection;
}

export interface SimulationResult {
  snapshot: SimSnapshot;
  summary: Summary;
}

export interface Summary {
  scenario: string;
  sensors: number;
  hz: number;
  zones: number;
  durationSeconds: number;
  readingsPerSecond: { published: number; stored: number };
  /**
   * published (the fleet's) + external = stored + quarantined + rule errors + dead-lettered +
   * not received + in flight; lost (taken by the processor, found nowhere) must be 0.
   */
  totals: Ledger['totals'] & { inFlight: number; lost: number; notReceived: number };
  /** Readings the broker took that the fleet did not send, and where they ended. */
  external: { byKind: Ledger['externalByKind']; stored: number; quarantined: number };
  /** Client ids taken over by a second connection (the first is closed, as IoT Core does). */
  takeovers: string[];
  /** Fleet readings the broker never received: their MQTT connection closed under them (a takeover) before the broker took them. */
  notReceivedSamples: string[];
  /** Messages in the quarantine queue at the end (the simulator reads none of them: they are there for npm run quarantine). */
  quarantineQueueDepth: number | undefined;
  /** The silent-sensor detector, run on the template's schedule: how often it ran, the events it published (Sensor Silent, Sensor Recovered). */
  health: { detectorRuns: number; events: string[]; scheduleSeconds: number; healthItems: number | undefined };
  /** The processes the run started, by role: every one is stopped by PID before the summary is printed. */
  stoppedPids: Record<string, number[]>;
  quarantinedByReason: Record<string, number>;
  badReadings: { sent: Record<string, number>; quarantined: Record<string, number> };
  misplaced: string[];
  /** Readings the processor took that are in neither DynamoDB nor the quarantine (at most 5). */
  lostSamples: string[];
  latency: SimSnapshot['latency'];
  alerts: { expected: number; received: number; duplicates: number; missed: number; unexpected: number; missedSamples: string[] };
  cpuCoresByProcess: Record<string, number>;
  /** moto's busiest API calls: how many, and the seconds spent answering them (threads overlap). */
  motoTimeByCall: Record<string, { calls: number; seconds: number }>;
  loadAverage1m: number | undefined;
  invocations: number;
  /** Records per invocation and how long invocations took. */
  invocation: { meanRecords: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  coldStarts: number;
  stack: { shards: number; batchingWindowSeconds: number; parallelizationFactor: number; rollupWindowSeconds: number; cooldownSeconds: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bundle `npm run build:lambda` made, or a fresh one. */
async function builtBundle(): Promise<{ zipPath: string; key: string }> {
  const zips = existsSync(DIST) ? readdirSync(DIST).filter((f) => /^processor-[0-9a-f]{12}\.zip$/.test(f)) : [];
  if (zips.length === 1) return { zipPath: join(DIST, zips[0]!), key: zips[0]! };
  const bundle = await bundleProcessor();
  return { zipPath: bundle.zipPath, key: bundle.key };
}

/** A shard read from TRIM_HORIZON (the mapping's StartingPosition) onwards. */
function shardSource(kinesis: KinesisClient, streamName: string, shardId: string, startingPosition: string): ShardSource {
  let iterator: string | undefined;
  return {
    shardId,
    async read(limit) {
      iterator ??= (
        await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: startingPosition as ShardIteratorType }))
      ).ShardIterator;
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
      iterator = out.NextShardIterator ?? iterator;
      return (out.Records ?? []).map(
        (r): StreamRecord => ({
          sequenceNumber: r.SequenceNumber!,
          partitionKey: r.PartitionKey!,
          data: Buffer.from(r.Data!),
          approximateArrivalMs: r.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
        }),
      );
    },
  };
}

/** An EventBridge Scheduler rate expression (`rate(1 minute)`, `rate(5 minutes)`, `rate(30 seconds)`) in milliseconds. */
export function scheduleRateMs(expression: string): number {
  const m = /^rate\((\d+) (second|minute|hour|day)s?\)$/.exec(expression);
  if (!m) throw new Error(`the simulator runs rate(...) schedules only, got '${expression}'`);
  return Number(m[1]) * { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as 'second' | 'minute' | 'hour' | 'day'];
}

/** A JSON log line of the processor (handlers/processor/log.ts), or undefined. */
function parseLogLine(line: string): { reason?: string; sequence_number?: string; shard_id?: string } | undefined {
  try {
    return JSON.parse(line) as { reason?: string; sequence_number?: string; shard_id?: string };
  } catch {
    return undefined;
  }
}

/** Renders an EventBridge input transformer (`<name>` placeholders from `$.a.b` paths), as the SNS target would deliver it. */
export function renderAlert(view: StackView['alertRule'], event: Record<string, unknown>): string {
  const at = (path: string) => path.replace(/^\$\./, '').split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], event);
  const text = view.inputTemplate.replace(/<([A-Za-z0-9_]+)>/g, (whole, name: string) =>
    name in view.inputPathsMap ? String(at(view.inputPathsMap[name]!)) : whole,
  );
  return text.replace(/^"|"$/g, '');
}

async function drainQueue(sqs: SQSClient, queueUrl: string, handle: (body: string) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    if (!Messages?.length) return total;
    for (const m of Messages) handle(m.Body!);
    total += Messages.length;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    if (Messages.length < 10) return total;
  }
}

/** Runs a simulation to its end; everything it started is stopped by PID before it returns or throws. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const print = options.print ?? (() => undefined);
  const environment = options.environment ?? 'sim';
  const cleanups: (() => Promise<void> | void)[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'tapstack-sim-'));
  owned.path(workDir);
  cleanups.push(() => owned.removed(workDir));
  try {
    // The stack sized for the fleet as npm run plan sizes a city's (src/capacity/): shards with
    // headroom under the per-shard write limit, lanes per shard, concurrency, status items.
    const sized = plan({ ...PLAN_DEFAULTS, sensors: options.sensors, hz: options.hz, zones: options.zones }).recommended;
    const parameters: Record<string, string> = {
      EnvironmentSuffix: environment,
      ThrowawayEnvironment: 'true',
      KinesisShardCount: String(sized.KinesisShardCount),
      ProcessorParallelizationFactor: String(sized.ProcessorParallelizationFactor),
      ProcessorReservedConcurrency: String(sized.ProcessorReservedConcurrency),
      SensorStatusItems: String(sized.SensorStatusItems),
      ...options.stackParameters,
    };
    const view = stackView(parameters);

    const bundle = await builtBundle();
    print(`Processor: ${bundle.key} (the built bundle), one container per lane of the event source mapping.`);
    // moto through the launcher (moto_server_fast.py says why), DynamoDB in a second process by default (moto-processes.ts).
    const motos = await startSimMoto(workDir, options.motoProcesses ?? 2, (pid) => owned.process(pid));
    cleanups.push(() => motos.stop().then(() => motos.pids.forEach((pid) => owned.released(pid))));
    const moto = motos.main;
    print(
      `moto_server (pid ${moto.pid}) on ${moto.endpoint}${motos.processes === 2 ? `, DynamoDB from a second one (pid ${motos.dynamodb.pid}) on ${motos.dynamodb.endpoint}` : ''}; CreateStack of templates/TapStack.yml as tapstack-${environment}${motos.processes === 2 ? ' into each' : ''}…`,
    );
    const aws = motoClientConfig(moto.endpoint);
    const deployed = await motos.deploy(`tapstack-${environment}`, parameters, {
      bucket: 'tapstack-sim-code',
      key: bundle.key,
      body: readFileSync(bundle.zipPath),
    });
    const { physicalIds, outputs } = deployed;

    // The function's environment as deployed (moto hands Number parameters back as numbers).
    const lambda = new LambdaClient(aws);
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalIds[LogicalId.ProcessorFunction] }));
    const env = Object.fromEntries(Object.entries(fn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
    const thresholds: Thresholds = {
      warning: Number(env[ENV.warningThreshold]),
      critical: Number(env[ENV.criticalThreshold]),
      hysteresis: Number(env[ENV.alertHysteresisPoints]),
    };
    const rollupWindowMs = Number(env[ENV.rollupWindowSeconds]) * 1000;

    // The raw-data lake: moto's CreateStack skips the Firehose delivery stream (so the function's
    // DELIVERY_STREAM_NAME, a Ref to it, comes back empty): it is created here with the template's
    // name, Direct PUT into the stack's bucket under raw/, and the processor given its name. moto
    // writes each PutRecordBatch as one S3 object (no Parquet conversion).
    const streamNamePattern = (buildTemplate().Resources[LogicalId.DeliveryStream]!.Properties as { DeliveryStreamName: { 'Fn::Sub': string } })
      .DeliveryStreamName['Fn::Sub'];
    env[ENV.deliveryStreamName] = streamNamePattern.replace('${EnvironmentSuffix}', environment);
    await new FirehoseClient(aws).send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: env[ENV.deliveryStreamName],
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${physicalIds[LogicalId.RawDataBucket]}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose',
          Prefix: 'raw/',
        },
      }),
    );

    // Alerts: moto cannot deliver to SNS (PutEvents on a bus whose rule targets SNS fails), so the
    // stack's own rule gets a local SQS queue as its target instead of the alerts topic.
    const sqs = new SQSClient({ ...aws, useQueueUrlAsEndpoint: false });
    const events = new EventBridgeClient(aws);
    const { QueueUrl: alertQueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `tapstack-${environment}-sim-alerts` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: alertQueueUrl, AttributeNames: ['QueueArn'] }));
    const busName = outputs.EventBusName!;
    const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: view.alertRule.ruleName, EventBusName: busName }));
    if (Targets?.length) await events.send(new RemoveTargetsCommand({ Rule: view.alertRule.ruleName, EventBusName: busName, Ids: Targets.map((t) => t.Id!) }));
    await events.send(new PutTargetsCommand({ Rule: view.alertRule.ruleName, EventBusName: busName, Targets: [{ Id: 'local-subscriber', Arn: Attributes!.QueueArn! }] }));
    // The alert archive (for replays, not emulated here) makes every PutEvents in moto a second or
    // more slower, beyond the processor's call timeout on a busy machine: it is removed locally.
    for (const archive of (await events.send(new ListArchivesCommand({}))).Archives ?? []) {
      if (archive.EventSourceArn?.endsWith(`event-bus/${busName}`)) await events.send(new DeleteArchiveCommand({ ArchiveName: archive.ArchiveName! }));
    }

    // Sensor health: the stack's health rule delivers to the ops topic, which moto cannot do either:
    // a local queue stands in for it too, and the simulator prints each event.
    const healthRule = view.healthRuleName;
    const { QueueUrl: opsQueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `tapstack-${environment}-sim-ops` }));
    const opsQueueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: opsQueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const { Targets: healthTargets } = await events.send(new ListTargetsByRuleCommand({ Rule: healthRule, EventBusName: busName }));
    if (healthTargets?.length) await events.send(new RemoveTargetsCommand({ Rule: healthRule, EventBusName: busName, Ids: healthTargets.map((t) => t.Id!) }));
    await events.send(new PutTargetsCommand({ Rule: healthRule, EventBusName: busName, Targets: [{ Id: 'local-ops-subscriber', Arn: opsQueueArn }] }));

    // The city and its PKI.
    const layout = cityLayout(options.sensors, options.zones);
    const pki = await createLocalPki();
    const identities: FleetSensor[] = [];
    // The registry as provisioning leaves it (src/layers/provisioning.ts THING_LAYOUT) and npm run
    // deploy completes it (the sensor policy attached to the environment's sensor group).
    const registry = new LocalRegistry();
    registry.thingTypes.set(view.policy.thingTypeName, view.policy.propagatingAttributes);
    registry.policyGroups.add(view.policy.sensorGroup);
    registry.thingGroups.add(view.policy.sensorGroup);
    for (const s of layout.sensors) {
      const id = await sensorIdentity(pki, s.sensorId, s.zoneId, `${s.lat},${s.lon}`);
      identities.push({ ...s, keyPem: id.keyPem, certificatePem: id.certificatePem });
      registry.createThing(s.sensorId, {
        thingTypeName: view.policy.thingTypeName,
        attributes: { [THING_LAYOUT.attributes.zone]: s.zoneId, [THING_LAYOUT.attributes.location]: `${s.lat},${s.lon}` },
        groups: [s.zoneId, view.policy.sensorGroup],
      });
      registry.attach(s.sensorId, registry.registerCertificate(id.certificatePem, 'ACTIVE'));
    }
    print(`Local CA and ${identities.length} sensor things, each of type ${view.policy.thingTypeName} in ${view.policy.sensorGroup} with its certificate (CN = thing name).`);
    // The registry's zones in moto, as npm run provision makes them (a thing group per zone): the
    // health detector reads which zones to expect sensors in from them.
    await ensureZoneGroups(new IoTClient(aws), layout.zones.map((z) => ({ zoneId: z.zoneId, description: 'simulated zone' })), () => undefined);
    const localConsole = await startLocalConsole({
      motoEndpoint: moto.endpoint,
      endpointEnv: motos.endpointEnv,
      physicalIds,
      zipPath: bundle.zipPath,
      environment,
      sensors: layout.sensors.map((s) => ({ sensorId: s.sensorId, zoneId: s.zoneId, lat: s.lat, lon: s.lon })),
      print,
    });
    cleanups.push(() => localConsole.close());

    const startedAt = Date.now();
    const ledger = new Ledger({
      sensors: layout.sensors,
      zones: layout.zones,
      hz: options.hz,
      scenario: options.scenario,
      cooldownMs: Number(env[ENV.alertCooldownSeconds]) * 1000,
      endToEndTargetMs: DEFAULTS.endToEndLatencyTargetMs,
      alertTargetMs: DEFAULTS.alertLatencyTargetMs,
      startedAt,
      thresholds,
    });
    // What the processor's own validation makes of a message from outside the fleet (for the books).
    const validation = readConfig(env);

    // The rule's Kinesis action and its error action (the rule's error log group).
    const streamName = physicalIds[LogicalId.ReadingsStream]!;
    const kinesis = new KinesisClient({ ...aws, requestHandler: new NodeHttpHandler() });
    const logs = new CloudWatchLogsClient(aws);
    const errorLogGroup = physicalIds[view.rule.errorLogGroupResource]!;
    const errorStream = 'local-simulator';
    await logs.send(new CreateLogStreamCommand({ logGroupName: errorLogGroup, logStreamName: errorStream })).catch(() => undefined);
    let ruleErrors = 0;
    // Records of things outside the fleet (a device of the connection file, tests that act as an
    // attacker), by sequence number, with the processor's quarantine reason when it gives one.
    const outsiders = new Map<string, { thing: string; reason?: string }>();
    const writer = new KinesisWriter<Entry>({
      client: kinesis,
      streamName,
      onPut: (e, shardId, seq) => {
        const key = recordKey(shardId, seq);
        ledger.ingested(e, key);
        if (e.sensor < 0) outsiders.set(key, { thing: e.thing });
      },
      onError: (e, reason) => {
        ledger.ruleError(e);
        if (ruleErrors++ < 3) print(`rule: Kinesis action failed, error action taken: ${reason}`);
        void logs
          .send(new PutLogEventsCommand({ logGroupName: errorLogGroup, logStreamName: errorStream, logEvents: [{ timestamp: Date.now(), message: JSON.stringify({ ruleName: view.rule.ruleName, failures: [{ failedAction: 'KinesisAction', errorMessage: reason }] }) }] }))
          .catch(() => undefined);
      },
    });

    const rule = compileRule(view.rule);
    const refusals: Simulation['refusals'] = [];
    const takeovers: string[] = [];
    const fleetCredentials = { username: 'tapstack-sim-fleet', password: randomBytes(18).toString('base64url') };
    const broker = await startBroker({
      caPem: pki.caPem,
      server: pki.server,
      policy: view.policy,
      registry,
      rule,
      fleetCredentials,
      onRuleMessage: (thing, topic, payload, at, userProperties, fromFleet) => {
        // The user properties hold the registry zone the sensor thing type propagates.
        const record = applyRule(rule, topic, payload, at, userProperties);
        if (!record) return;
        let reading: ExternalReading | undefined;
        if (!fromFleet) {
          const validated = validateRecord({ sequenceNumber: '', partitionKey: record.partitionKey, data: record.data.toString('base64'), approximateArrivalMs: at, shardId: '' }, validation, at);
          reading = typeof validated === 'string' ? { valid: false } : { valid: true, timestampMs: validated.timestampMs, congestion: validated.congestion_index };
          print(`external: ${thing} published a reading from outside the fleet (${typeof validated === 'string' ? `invalid: ${validated}` : 'valid'})`);
        }
        const entry = ledger.received({ thing, hash: payloadHash(payload), receivedAt: at, fromFleet, reading });
        writer.put(record.data, record.partitionKey, entry);
      },
      onRefused: (what, thing, detail) => refusals.push({ what, thing, detail }),
      onTakeover: (clientId, by, from) => {
        const line = `client id ${clientId} taken over: a client ${by === 'fleet' ? 'of the fleet' : 'outside the fleet'} connected with it; the broker closed the ${from === 'fleet' ? "fleet's" : 'outside'} connection (IoT Core keeps one connection per client id)`;
        takeovers.push(line);
        print(`takeover: ${line}`);
      },
    });
    cleanups.push(() => broker.close());
    cleanups.push(() => writer.stop());
    print(`Broker on mqtts://${broker.host}:${broker.port} (mutual TLS, MQTT ${broker.mqttVersions.join(' and ')}; policy and rule ${view.rule.ruleName} from the template).`);

    // A device for your own clients: a sensor of the fleet (its own certificate) or a thing outside
    // it, registered with a zone; and the connection file that says how to reach everything.
    const deviceId = options.device ?? LOCAL_DEVICE;
    const fleetDevice = identities.find((i) => i.sensorId === deviceId);
    const deviceZone = fleetDevice?.zoneId ?? layout.zones[0]!.zoneId;
    const deviceIdentity = fleetDevice ?? (await sensorIdentity(pki, deviceId, deviceZone, '0,0'));
    if (!fleetDevice) {
      // Registered as provisioning registers a sensor: of the sensor type, in its zone's group and the sensor group.
      registry.createThing(deviceId, {
        thingTypeName: view.policy.thingTypeName,
        attributes: { [THING_LAYOUT.attributes.zone]: deviceZone, [THING_LAYOUT.attributes.location]: '0,0' },
        groups: [deviceZone, view.policy.sensorGroup],
      });
      registry.attach(deviceId, registry.registerCertificate(deviceIdentity.certificatePem, 'ACTIVE'));
    }
    const connection = writeConnection({
      out: options.out,
      environment,
      awsEndpoint: moto.endpoint,
      dynamodbEndpoint: motos.dynamodb.endpoint,
      broker: { host: broker.host, port: broker.port, mqttVersions: broker.mqttVersions },
      caPem: pki.caPem,
      device: { thingName: deviceId, zoneId: deviceZone, keyPem: deviceIdentity.keyPem, certificatePem: deviceIdentity.certificatePem, inFleet: fleetDevice !== undefined },
      publishTopic: outputs.SensorPublishTopic!,
      outputs,
    });
    cleanups.push(() => owned.removed(connection.dir));

    // The event source mapping.
    // The function's clients reach moto through AWS_ENDPOINT_URL (the SDK's endpoint override), DynamoDB's through AWS_ENDPOINT_URL_DYNAMODB.
    const pool = new LambdaPool({ zipPath: bundle.zipPath, env: { ...env, ...motos.endpointEnv }, timeoutSeconds: fn.Timeout ?? 60,
      onLog: (lane, line) => {
        localConsole.onProcessorLog(line);
        // The processor's verdict on each reading it quarantines: the books take it from here, so
        // the quarantine queue keeps its messages for npm run quarantine.
        if (line.includes('"Reading quarantined"')) {
          const logged = parseLogLine(line);
          if (logged?.sequence_number && logged.shard_id && logged.reason) {
            const key = recordKey(logged.shard_id, logged.sequence_number);
            ledger.quarantined(key, logged.reason);
            const outsider = outsiders.get(key);
            if (outsider) outsider.reason = logged.reason;
          }
          return;
        }
        // The function's warnings and errors (its EMF metric lines and INFO logs are left out).
        if (/"level":"(WARN|ERROR)"/.test(line) && functionWarnings++ < 20) print(`processor (lane ${lane}): ${line.slice(0, 400)}`);
      },
    });
    let functionWarnings = 0;
    cleanups.push(() => pool.close());

    // The silent-sensor detector on the template's schedule (EventBridge Scheduler, which moto does
    // not run): the bundle's `detector` export in a container of its own, invoked at that rate.
    const detectorFn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalIds[LogicalId.HealthDetectorFunction] }));
    const detectorEnv = Object.fromEntries(Object.entries(detectorFn.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
    const detectorPool = new LambdaPool({
      zipPath: bundle.zipPath,
      env: { ...detectorEnv, ...motos.endpointEnv, AWS_LAMBDA_FUNCTION_NAME: detectorFn.FunctionName ?? 'detector' },
      timeoutSeconds: detectorFn.Timeout ?? 60,
      handlerExport: detectorFn.Handler?.split('.').pop() ?? 'detector',
      onLog: (_lane, line) => {
        if (/"level":"(WARN|ERROR)"/.test(line) && functionWarnings++ < 20) print(`detector: ${line.slice(0, 400)}`);
      },
    });
    cleanups.push(() => detectorPool.close());
    const scheduleMs = options.detectorIntervalSeconds !== undefined ? options.detectorIntervalSeconds * 1000 : scheduleRateMs(view.detectorSchedule);
    let detectorRuns = 0;
    const runDetector = async () => {
      const outcome = await detectorPool.invoke(0, { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} });
      detectorRuns++;
      if (!outcome.ok) print(`detector run failed: ${outcome.error.split('\n')[0]}`);
    };
    const detectorTimer = setInterval(() => void runDetector(), scheduleMs);
    cleanups.push(() => clearInterval(detectorTimer));
    print(`Health detector: ${detectorFn.FunctionName} every ${scheduleMs / 1000} s (${view.detectorSchedule}, the template's schedule).`);
    const ddb = new DynamoDBClient(motoClientConfig(motos.dynamodb.endpoint));
    const toVerify: Entry[] = [];
    const dlqUrl = physicalIds[view.esm.onFailureResource]!;
    const streamArn = outputs.StreamArn ?? `arn:aws:kinesis:us-east-1:123456789012:stream/${streamName}`;
    const shardIds = ((await kinesis.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? []).map((s) => s.ShardId!);
    let invokeErrors = 0;
    const invocationMs: number[] = [];
    const invocationSizes: number[] = [];
    const pollers = shardIds.map(
      (shardId, i) =>
        new ShardPoller(
          shardSource(kinesis, streamName, shardId, view.esm.startingPosition),
          {
            settings: view.esm,
            streamArn,
            region: 'us-east-1',
            invoker: pool,
            hooks: {
              onInvoke: (lane, size, outcome, ms) => {
                invocationMs.push(ms);
                invocationSizes.push(size);
                if (!outcome.ok && invokeErrors++ < 5) print(`processor (lane ${lane}, ${size} records) failed: ${outcome.error.split('\n').slice(0, 3).join(' ')}`);
              },
              onDone: (records) => toVerify.push(...ledger.processed(records.map((r) => recordKey(shardId, r.sequenceNumber)))),
              onFailure: async (records, failure) => {
                ledger.deadLettered(records.map((r) => recordKey(shardId, r.sequenceNumber)));
                print(`ESM: ${failure.batchSize} records of ${failure.shardId} to the on-failure destination (${failure.condition}${failure.functionError ? `: ${failure.functionError.split('\n')[0]!.slice(0, 300)}` : ''})`);
                await sqs
                  .send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ requestContext: { condition: failure.condition, approximateInvokeCount: failure.approximateInvokeCount }, responseContext: { functionError: failure.functionError }, KinesisBatchInfo: { shardId: failure.shardId, startSequenceNumber: failure.startSequenceNumber, endSequenceNumber: failure.endSequenceNumber, batchSize: failure.batchSize, streamArn } }) }))
                  .catch(() => undefined);
              },
            },
          },
          i * view.esm.parallelizationFactor,
        ),
    );
    for (const p of pollers) p.start();
    cleanups.push(() => Promise.all(pollers.map((p) => p.stop(5_000))).then(() => undefined));

    // Stored = seen in DynamoDB: each reading the processor took is looked up in its window's item.
    const verifyRound = async () => {
      const batch = toVerify.splice(0, toVerify.length);
      if (batch.length === 0) return;
      const keys = new Map<string, { sensorId: string; window: string; entries: Entry[] }>();
      for (const e of batch) {
        const sensorId = e.thing;
        const start = Math.floor(e.timestampMs! / rollupWindowMs) * rollupWindowMs;
        const window = new Date(start).toISOString();
        const k = `${sensorId}|${window}`;
        const slot = keys.get(k) ?? { sensorId, window, entries: [] };
        slot.entries.push(e);
        keys.set(k, slot);
      }
      const slots = [...keys.values()];
      const table = env[ENV.readingsTableName]!;
      // Each window's offsets and the moment its answer came: a reading is stored from then on (a
      // round of many chunks would otherwise stamp the first chunk's readings with the last's time).
      const found = new Map<string, { offsets: Set<number>; at: number }>();
      const lookup = async (chunk: typeof slots) => {
        let request: Record<string, AttributeValue>[] | undefined = chunk.map((s) => ({ [READINGS_TABLE.partitionKey]: { S: s.sensorId }, [READINGS_TABLE.sortKey]: { S: s.window } }));
        while (request && request.length > 0) {
          const out = await ddb.send(
            new BatchGetItemCommand({
              RequestItems: {
                [table]: {
                  Keys: request,
                  ProjectionExpression: '#p, #s, #o',
                  ExpressionAttributeNames: { '#p': READINGS_TABLE.partitionKey, '#s': READINGS_TABLE.sortKey, '#o': READINGS_TABLE.offsetsAttribute },
                },
              },
            }),
          );
          const answeredAt = Date.now();
          for (const item of out.Responses?.[table] ?? []) {
            found.set(`${item[READINGS_TABLE.partitionKey]!.S}|${item[READINGS_TABLE.sortKey]!.S}`, { offsets: new Set(storedOffsets(item)), at: answeredAt });
          }
          request = out.UnprocessedKeys?.[table]?.Keys as Record<string, AttributeValue>[] | undefined;
        }
      };
      // BatchGetItem takes 100 keys; four calls at a time. A round that fails (moto overloaded) looks
      // again at its readings next round, rather than leaving them unverified (counted as lost).
      const chunks = Array.from({ length: Math.ceil(slots.length / 100) }, (_, i) => slots.slice(i * 100, (i + 1) * 100));
      try {
        for (let i = 0; i < chunks.length; i += 4) await Promise.all(chunks.slice(i, i + 4).map(lookup));
      } catch (error) {
        toVerify.push(...batch);
        throw error;
      }
      for (const slot of slots) {
        const seen = found.get(`${slot.sensorId}|${slot.window}`);
        const start = Date.parse(slot.window);
        for (const e of slot.entries) {
          if (seen?.offsets.has(e.timestampMs! - start)) ledger.stored(e, seen.at);
          else if (e.state === 'processed') toVerify.push(e); // not there yet (or quarantined): look again
        }
      }
    };

    const quarantineUrl = env[ENV.quarantineQueueUrl]!;
    const healthEvents: string[] = [];
    const pollHealth = () =>
      drainQueue(sqs, opsQueueUrl!, (body) => {
        const event = JSON.parse(body) as { 'detail-type'?: string; detail?: { sensor_id?: string; zone_id?: string } };
        const line = `${event['detail-type']}: ${event.detail?.sensor_id ?? ''} in ${event.detail?.zone_id ?? '?'}`;
        healthEvents.push(line);
        print(`HEALTH ${new Date().toISOString().slice(11, 19)} ${line}`);
      });
    const pollAlerts = () =>
      drainQueue(sqs, alertQueueUrl!, (body) => {
        const event = JSON.parse(body) as Record<string, unknown> & { detail: Parameters<Ledger['alert']>[0] };
        const at = Date.now();
        ledger.alert(event.detail, at);
        const latency = (ledger.snapshot(at, 1).recentAlerts[0]?.latencyMs ?? 0) / 1000;
        print(`ALERT ${new Date(at).toISOString().slice(11, 19)} ${renderAlert(view.alertRule, event)} [${latency.toFixed(1)} s after the reading]`);
      });

    // Background loops: verification, queues, once-a-second ticks, CPU.
    let running = true;
    const cpu = new CpuMeter();
    let fleet: ChildProcess | undefined;
    const roles = () => ({
      'broker+rule+poller (this process)': [process.pid],
      fleet: fleet?.pid ? [fleet.pid] : [],
      // With two processes, each its own role (a PID counts in one role only): 'moto' and 'moto (DynamoDB)'.
      moto: [moto.pid],
      ...(motos.processes === 2 ? { 'moto (DynamoDB)': [motos.dynamodb.pid] } : {}),
      processor: [...pool.pids().values()],
      detector: [...detectorPool.pids().values()],
      'console API': localConsole.pids(),
    });
    const loops = [
      (async () => {
        while (running) {
          await verifyRound().catch((e: Error) => print(`verify: ${e.message}`));
          await sleep(500);
        }
      })(),
      (async () => {
        while (running) {
          await pollAlerts().catch((e: Error) => print(`alerts: ${e.message}`));
          await pollHealth().catch((e: Error) => print(`health events: ${e.message}`));
          await sleep(500);
        }
      })(),
    ];
    const simulation: Simulation = {
      ledger,
      view,
      env,
      broker,
      moto,
      dynamodb: motos.dynamodb,
      pki,
      registry,
      identities,
      publishTopic: outputs.SensorPublishTopic!,
      cpu,
      refusals,
      outsiders,
      snapshot: () => ledger.snapshot(Date.now()),
      issueIdentity: (sensorId, zoneId) => sensorIdentity(pki, sensorId, zoneId, '0,0'),
      pids: roles,
      console: localConsole,
      connection,
    };
    // Every process the run started, by role: all are stopped by PID before simulate() returns.
    const seenPids: Record<string, Set<number>> = {};
    const notePids = () => {
      for (const [role, pids] of Object.entries(roles())) if (role !== 'broker+rule+poller (this process)') for (const pid of pids) (seenPids[role] ??= new Set()).add(pid);
    };
    const ticker = setInterval(() => {
      notePids();
      // A message from a fleet connection no fleet report claimed within 10 s is a second copy (QoS 1 resend).
      ledger.settle(Date.now(), 10_000);
      ledger.tick(Date.now());
      cpu.sample(roles());
      options.onTick?.(ledger.snapshot(Date.now()), simulation);
    }, 1000);
    cleanups.push(() => clearInterval(ticker));

    // The fleet: its settings, the sensors' keys among them, go over IPC (never to disk).
    const settings: FleetSettings = {
      fleetCredentials,
      host: broker.host,
      port: broker.port,
      caPem: pki.caPem,
      publishTopic: outputs.SensorPublishTopic!,
      sensors: identities,
      zones: options.zones,
      hz: options.hz,
      traffic: {
        scenario: options.scenario,
        thresholds,
        wavePeriodSeconds: options.wavePeriodSeconds ?? 120,
        daySeconds: options.daySeconds ?? 600,
        silentAfterSeconds: options.silentAfterSeconds ?? Math.min(30, (options.durationSeconds ?? 60) / 3),
        ...(options.weatherCondition !== undefined ? { weatherCondition: options.weatherCondition } : {}),
      },
      startAt: startedAt,
    };
    let fleetStopped!: () => void;
    const fleetDone = new Promise<void>((resolve) => (fleetStopped = resolve));
    let connectedResolve!: (m: { connected: number; refused: number }) => void;
    const connected = new Promise<{ connected: number; refused: number }>((resolve) => (connectedResolve = resolve));
    // A process group of its own: a Ctrl-C in the terminal reaches the simulator, which stops the fleet itself.
    fleet = fork(join(import.meta.dirname, 'fleet.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    owned.process(fleet.pid);
    fleet.send(settings);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (!fleet || fleet.exitCode !== null || fleet.signalCode !== null) return resolve();
          fleet.once('exit', () => resolve());
          process.kill(fleet.pid!, 'SIGKILL');
        }),
    );
    fleet.on('exit', () => {
      owned.released(fleet?.pid);
      fleetStopped();
    });
    fleet.on('message', (m: FleetMessage) => {
      if (m.type === 'published') {
        for (const [sensor, n, publishedAt, timestampMs, level, congestion, speed, bad, hash] of m.rows) {
          ledger.published({ sensor, n, hash, publishedAt, timestampMs, level: level || undefined, bad: bad || undefined, congestion, speed });
        }
      } else if (m.type === 'connected') connectedResolve(m);
      else if (m.type === 'stopped') fleetStopped();
      else if (m.type === 'error') print(`fleet: ${m.message}`);
    });
    const c = await Promise.race([connected, fleetDone.then(() => ({ connected: -1, refused: -1 }))]);
    if (c.connected < 0) throw new Error('the fleet process exited before its sensors connected');
    print(`${c.connected} sensors connected over mutual TLS${c.refused ? `, ${c.refused} refused` : ''} (fleet pid ${fleet.pid}); traffic: ${options.scenario}, ${options.hz} Hz.`);

    await options.onReady?.(simulation);
    // Run until the duration or an abort.
    await new Promise<void>((resolve) => {
      const timer = options.durationSeconds !== undefined ? setTimeout(resolve, options.durationSeconds * 1000) : undefined;
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
      fleetDone.then(resolve);
    });
    const trafficSeconds = (Date.now() - startedAt) / 1000;
    print('Stopping the fleet; waiting for readings in flight…');
    if (fleet.connected) fleet.send({ type: 'stop' });
    await Promise.race([fleetDone, sleep(10_000)]);
    // Every fleet report is in: a message no report claimed is a second copy of a fleet reading.
    ledger.settle(Date.now(), 0);
    await Promise.race([writer.drain(), sleep(15_000)]);
    const drainDeadline = Date.now() + (options.drainSeconds ?? view.esm.maximumBatchingWindowSeconds + 30) * 1000;
    // Also after a Ctrl-C: the books are only honest once what is in flight has landed (a second Ctrl-C quits at once).
    const notReceived = () => ledger.notReceived().length;
    while (Date.now() < drainDeadline && ledger.inFlight() - notReceived() > 0) await sleep(500);
    // Alerts of the last readings: a moment for the bus.
    await sleep(1500);
    running = false;
    // Every invocation in flight ends within the function's timeout (the pool kills it then), so
    // the pollers wait that long: a batch that finished after the last look would be counted as
    // taken and found nowhere (lost) when it is only late.
    await Promise.all(pollers.map((p) => p.stop((fn.Timeout ?? 60) * 1000 + 5_000)));
    await Promise.all(loops);
    // The last look, again if moto failed it (a reading not found by then counts as lost).
    for (let tries = 0; tries < 3; tries++) if (await verifyRound().then(() => true, () => false)) break;
    await pollAlerts().catch(() => undefined);
    await pollHealth().catch(() => undefined);
    ledger.tick(Date.now());
    cpu.sample(roles());

    writer.stop();
    await Promise.all(pollers.map((p) => p.stop(0)));
    notePids();
    clearInterval(detectorTimer);
    await pool.close();
    await detectorPool.close();
    // The quarantine keeps its messages (npm run quarantine reads them): its depth, for the summary.
    const depth = await sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: quarantineUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
      .then((q) => Number(q.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(q.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0))
      .catch(() => undefined);
    // The sensors the detector keeps health items for (its table, written by its runs).
    const healthItems = await ddb
      .send(new ScanCommand({ TableName: physicalIds[LogicalId.SensorHealthTable], Select: 'COUNT' }))
      .then((r) => r.Count ?? 0)
      .catch(() => undefined);
    // moto writes where its time went when it stops.
    await motos.stop();
    const motoSeconds = motos.timeByCall();
    const snapshot = ledger.snapshot(Date.now(), Number.MAX_SAFE_INTEGER);
    const t = ledger.totals;
    // Lost: taken by the processor but found neither in DynamoDB nor in the quarantine.
    const states = ledger.countByState();
    const lost = states.processed ?? 0;
    const unreceived = ledger.notReceived();
    const inFlight = ledger.inFlight() - unreceived.length;
    const missed = ledger.missedAlerts();
    const summary: Summary = {
      scenario: options.scenario,
      sensors: options.sensors,
      hz: options.hz,
      zones: options.zones,
      durationSeconds: Math.round(trafficSeconds * 10) / 10,
      readingsPerSecond: { published: Math.round((t.published / trafficSeconds) * 10) / 10, stored: Math.round((t.stored / trafficSeconds) * 10) / 10 },
      totals: { ...t, inFlight, lost, notReceived: unreceived.length },
      external: { byKind: { ...ledger.externalByKind }, stored: ledger.externalOutcome.stored, quarantined: ledger.externalOutcome.quarantined },
      takeovers: takeovers.slice(0, 20),
      notReceivedSamples: unreceived.slice(0, 5).map((e) => `${e.thing} #${e.n} published at ${new Date(e.publishedAt!).toISOString()}`),
      quarantineQueueDepth: depth,
      health: { detectorRuns, events: healthEvents.slice(0, 20), scheduleSeconds: scheduleMs / 1000, healthItems },
      stoppedPids: Object.fromEntries(Object.entries(seenPids).map(([role, pids]) => [role, [...pids]])),
      quarantinedByReason: { ...ledger.quarantinedByReason },
      badReadings: { sent: { ...ledger.badSent }, quarantined: { ...ledger.badQuarantined } },
      misplaced: ledger.misplaced.slice(0, 20),
      lostSamples: ledger.describe('processed', 5),
      latency: snapshot.latency,
      alerts: {
        expected: ledger.expected.size,
        received: t.alerts,
        duplicates: t.duplicateAlerts,
        missed: missed.length,
        unexpected: t.unexpectedAlerts,
        missedSamples: missed.slice(0, 5).map((m) => `${m.sensorId} ${m.from}→${m.to} at ${m.readingTime}`),
      },
      cpuCoresByProcess: cpu.shares(),
      motoTimeByCall: Object.fromEntries(Object.entries(motoSeconds).slice(0, 8)),
      loadAverage1m: loadAverage(),
      invocations: pollers.reduce((n, p) => n + p.invocations, 0),
      invocation: {
        meanRecords: Math.round(invocationSizes.reduce((a, b) => a + b, 0) / Math.max(1, invocationSizes.length)),
        p50Ms: percentile([...invocationMs].sort((a, b) => a - b), 50),
        p99Ms: percentile([...invocationMs].sort((a, b) => a - b), 99),
        maxMs: invocationMs.length ? Math.max(...invocationMs) : null,
      },
      coldStarts: pool.coldStarts,
      stack: {
        shards: shardIds.length,
        batchingWindowSeconds: view.esm.maximumBatchingWindowSeconds,
        parallelizationFactor: view.esm.parallelizationFactor,
        rollupWindowSeconds: rollupWindowMs / 1000,
        cooldownSeconds: Number(env[ENV.alertCooldownSeconds]),
      },
    };
    return { snapshot, summary };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // keep stopping the rest
      }
    }
  }
}
