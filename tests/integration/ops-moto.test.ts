/**
 * npm run redrive / quarantine / teardown against a stack CreateStack'd into moto: every resource
 * name comes from the stack's outputs, as for an operator. The teardown runs last (it deletes the stack).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AttachPolicyCommand, AttachThingPrincipalCommand, CreateKeysAndCertificateCommand, CreateThingCommand, DescribeCertificateCommand, IoTClient } from '@aws-sdk/client-iot';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleReading } from '../../contract';
import { deduplicationId, quarantineMessage } from '../../handlers/processor/adapters/quarantine';
import type { QuarantinedRecord } from '../../handlers/processor/core/types';
import { ROOT } from '../../scripts/lib/paths';
import { quarantine } from '../../scripts/quarantine';
import { redrive } from '../../scripts/redrive';
import { teardown } from '../../scripts/teardown';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto, type DeployedStack } from '../helpers/stack';

const STACK = 'tapstack-ops';
/** moto renders the Ref of an IoT policy as a Python object: the name as the template makes it. */
const POLICY = 'tapstack-ops-sensor';

describe('operations commands against moto', () => {
  let moto: Moto;
  let deployed: DeployedStack;
  let config: ReturnType<typeof motoClientConfig>;
  let kinesis: KinesisClient;
  let sqs: SQSClient;
  let lines: string[];
  let dir: string;
  const deps = () => ({ target: { region: 'us-east-1', endpoint: moto.endpoint }, credentials: config.credentials, print: (l: string) => lines.push(l) });
  const cli = (script: string, args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', script), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      input: '',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', TAPSTACK_OUTPUTS_DIR: dir },
      timeout: 120_000,
    });
  const queueDepth = async (url: string) =>
    Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes?.ApproximateNumberOfMessages);
  /** Every record of the stream after the given sequence number of each shard (the shard's start when none). */
  const recordsAfter = async (marks: Record<string, string | undefined>) => {
    const out: { shardId: string; data: Buffer; partitionKey: string }[] = [];
    for (const shardId of Object.keys(marks)) {
      const mark = marks[shardId];
      let iterator = (
        await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: deployed.outputs.StreamName,
            ShardId: shardId,
            ShardIteratorType: mark ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON',
            ...(mark ? { StartingSequenceNumber: mark } : {}),
          }),
        )
      ).ShardIterator;
      for (;;) {
        const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        if ((page.Records ?? []).length === 0) break;
        out.push(...page.Records!.map((r) => ({ shardId, data: Buffer.from(r.Data!), partitionKey: r.PartitionKey! })));
        iterator = page.NextShardIterator;
      }
    }
    return out;
  };
  /** The last sequence number of every shard now. */
  const tails = async (): Promise<Record<string, string | undefined>> => {
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: deployed.outputs.StreamName }))).Shards ?? [];
    const marks: Record<string, string | undefined> = {};
    for (const s of shards) {
      const all = await recordsAfterWithSeq(s.ShardId!);
      marks[s.ShardId!] = all.at(-1);
    }
    return marks;
  };
  const recordsAfterWithSeq = async (shardId: string) => {
    let iterator = (await kinesis.send(new GetShardIteratorCommand({ StreamName: deployed.outputs.StreamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    const seqs: string[] = [];
    for (;;) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      if ((page.Records ?? []).length === 0) return seqs;
      seqs.push(...page.Records!.map((r) => r.SequenceNumber!));
      iterator = page.NextShardIterator;
    }
  };

  beforeAll(async () => {
    moto = await startMoto();
    config = motoClientConfig(moto.endpoint);
    dir = mkdtempSync(join(tmpdir(), 'tapstack-ops-'));
    deployed = await deployToMoto(moto.endpoint, STACK, {
      EnvironmentSuffix: 'ops',
      ThrowawayEnvironment: 'false',
      KinesisShardCount: '2',
      ProcessorReservedConcurrency: '4',
    });
    kinesis = new KinesisClient({ ...config, requestHandler: new NodeHttpHandler() });
    sqs = new SQSClient(config);
  }, 180_000);
  afterAll(async () => {
    await moto?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('redrive --dlq', () => {
    // A JSON reading: bytes that a base64 step too many would turn into "eyJ…" and get quarantined.
    const reading = (i: number) =>
      Buffer.from(JSON.stringify(exampleReading({ sensor_id: `sensor-${i % 40}`, zone_id: 'downtown', timestamp: '2026-11-22T08:15:00.000Z', vehicle_count: i, avg_speed: 40, congestion_index: 50, received_at: 1_790_000_000_000 })));
    let batch: { shardId: string; start: string; end: string; expected: { data: Buffer; partitionKey: string }[] };

    beforeAll(async () => {
      const put: { shardId: string; seq: string; data: Buffer; partitionKey: string }[] = [];
      for (let offset = 0; offset < 1_600; offset += 500) {
        const records = Array.from({ length: Math.min(500, 1_600 - offset) }, (_, j) => ({ Data: reading(offset + j), PartitionKey: `sensor-${(offset + j) % 40}` }));
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: deployed.outputs.StreamName, Records: records }));
        expect(out.FailedRecordCount ?? 0).toBe(0);
        out.Records!.forEach((r, j) => put.push({ shardId: r.ShardId!, seq: r.SequenceNumber!, data: Buffer.from(records[j]!.Data), partitionKey: records[j]!.PartitionKey }));
      }
      // The failed batch: 600 consecutive records of the busiest shard (two PutRecords calls' worth).
      const byShard = new Map<string, typeof put>();
      for (const p of put) byShard.set(p.shardId, [...(byShard.get(p.shardId) ?? []), p]);
      const [shardId, records] = [...byShard].sort((a, b) => b[1].length - a[1].length)[0]!;
      const slice = records.slice(50, 650);
      expect(slice).toHaveLength(600);
      batch = { shardId, start: slice[0]!.seq, end: slice.at(-1)!.seq, expected: slice.map(({ data, partitionKey }) => ({ data, partitionKey })) };
      const onFailure = (streamArn: string) =>
        JSON.stringify({
          requestContext: { requestId: 'r-1', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tapstack-ops-processor', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: '2026-11-22T08:20:00.000Z',
          KinesisBatchInfo: {
            shardId: batch.shardId,
            startSequenceNumber: batch.start,
            endSequenceNumber: batch.end,
            approximateArrivalOfFirstRecord: '2026-11-22T08:15:00.000Z',
            approximateArrivalOfLastRecord: '2026-11-22T08:15:05.000Z',
            batchSize: 600,
            streamArn,
          },
        });
      await sqs.send(new SendMessageCommand({ QueueUrl: deployed.outputs.ProcessorDeadLetterQueueUrl, MessageBody: onFailure(deployed.outputs.StreamArn!) }));
      await sqs.send(new SendMessageCommand({ QueueUrl: deployed.outputs.ProcessorDeadLetterQueueUrl, MessageBody: onFailure('arn:aws:kinesis:us-east-1:123456789012:stream/someone-else') }));
    });

    it('--dry-run counts the records and changes nothing', async () => {
      lines = [];
      const before = await tails();
      const report = await redrive(['--env', 'ops', '--stack-name', STACK, '--dry-run'], deps());
      expect(report.records).toBe(600);
      expect(lines).toContain(`would redrive ${batch.shardId} ${batch.start}..${batch.end}: 600 records (batch of 600)`);
      expect(await recordsAfter(before)).toEqual([]);
      expect(await queueDepth(deployed.outputs.ProcessorDeadLetterQueueUrl!)).toBe(2);
    });

    it('re-puts exactly the batch, bytes and partition keys untouched, in chunks of 500, then deletes its message', async () => {
      lines = [];
      const before = await tails();
      const report = await redrive(['--env', 'ops', '--stack-name', STACK], deps());
      expect(report).toMatchObject({ messages: 2, redriven: 1, records: 600, putCalls: 2, kept: 1 });
      const back = await recordsAfter(before);
      expect(back).toHaveLength(600);
      expect(back.map(({ data, partitionKey }) => ({ data, partitionKey }))).toEqual(batch.expected);
      // The other stream's message stays, with a warning; ours is gone.
      expect(lines.some((l) => l.startsWith('warning: message') && l.includes('someone-else'))).toBe(true);
      expect(lines.at(-1)).toBe('2 messages read: 600 records put back on the stream in 2 PutRecords calls, 1 message deleted, 1 left in the queue');
      expect(await queueDepth(deployed.outputs.ProcessorDeadLetterQueueUrl!)).toBe(1);
    });
  });

  describe('quarantine and redrive --quarantine (FIFO queue)', () => {
    const DAY = 86_400_000;
    const record = (i: number, reason: string, ageMs: number, data = Buffer.from(`{"sensor_id":"sensor-${i}","n":${i}}`).toString('base64')): QuarantinedRecord => ({
      record: { sequenceNumber: String(10_000 + i), partitionKey: `sensor-${i % 3}`, data, approximateArrivalMs: Date.now() - ageMs, shardId: `shardId-00000000000${i % 2}` },
      reason,
    });
    const records = [
      ...Array.from({ length: 12 }, (_, i) => record(i, `timestamp: ${400 + i} s in the future, limit 300 s`, 2 * DAY)),
      ...Array.from({ length: 10 }, (_, i) => record(20 + i, 'not JSON: Unexpected token', 3_600_000)),
      record(40, 'sensor_id "sensor-40" does not match the publishing thing "sensor-41"', 60_000),
      record(41, 'oversize: 20000 bytes, limit 4096', 60_000, 'A'.repeat(20_000)),
    ];

    beforeAll(async () => {
      const url = deployed.outputs.QuarantineQueueUrl!;
      expect(url).toMatch(/tapstack-ops-quarantine\.fifo$/);
      for (let i = 0; i < records.length; i += 10) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: records.slice(i, i + 10).map((q, j) => ({ Id: String(j), MessageBody: quarantineMessage(q), MessageGroupId: q.record.shardId, MessageDeduplicationId: deduplicationId(q) })),
          }),
        );
      }
    });

    it('--summary reads every message (more than 10 per message group) and counts them by reason', async () => {
      lines = [];
      const { summary } = await quarantine(['--env', 'ops', '--stack-name', STACK], deps());
      expect(summary?.total).toBe(24);
      expect(summary?.byKind.map((k) => [k.kind, k.count])).toEqual([
        ['timestamp: N s in the future, limit N s', 12],
        ['not JSON', 10],
        ['oversize: N bytes, limit N', 1],
        ['sensor_id "…" does not match the publishing thing "…"', 1],
      ]);
      expect(lines[0]).toMatch(/^tapstack-ops-quarantine\.fifo: 24 quarantined readings, arrived /);
      // Reading is not consuming: a second pass sees them all again.
      expect((await quarantine(['--env', 'ops', '--stack-name', STACK], deps())).summary?.total).toBe(24);
    });

    it('--export writes every message as a JSON line, and will not overwrite a file', async () => {
      const file = join(dir, 'quarantine.jsonl');
      lines = [];
      expect((await quarantine(['--env', 'ops', '--stack-name', STACK, '--export', file], deps())).exported).toBe(24);
      const exported = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(exported).toHaveLength(24);
      expect(new Set(exported.map((e) => e.sequence_number))).toEqual(new Set(records.map((r) => r.record.sequenceNumber)));
      expect(exported[0]).toHaveProperty('message_id');
      await expect(quarantine(['--env', 'ops', '--stack-name', STACK, '--export', file], deps())).rejects.toThrow(`quarantine: --export ${file} exists already`);
    });

    it('redrive --quarantine --reason puts those readings back on the stream (decoded bytes) and deletes only them', async () => {
      lines = [];
      const before = await tails();
      const report = await redrive(['--env', 'ops', '--stack-name', STACK, '--quarantine', '--reason', 'in the future'], deps());
      expect(report).toMatchObject({ messages: 24, records: 12, putCalls: 2 });
      const back = await recordsAfter(before);
      expect(back.map((b) => b.data.toString()).sort()).toEqual(records.slice(0, 12).map((r) => Buffer.from(r.record.data, 'base64').toString()).sort());
      expect((await quarantine(['--env', 'ops', '--stack-name', STACK], deps())).summary?.total).toBe(12);
    });

    it('--purge-older-than deletes the older readings after a yes, nothing after a no', async () => {
      lines = [];
      const no = await quarantine(['--env', 'ops', '--stack-name', STACK, '--purge-older-than', '30m'], { ...deps(), confirm: async () => false });
      expect(no.purged).toBe(0);
      let asked = '';
      const yes = await quarantine(['--env', 'ops', '--stack-name', STACK, '--purge-older-than', '30m'], {
        ...deps(),
        confirm: async (q) => ((asked = q), true),
      });
      expect(asked).toMatch(/^Delete the quarantined readings of tapstack-ops-quarantine\.fifo that arrived before \d{4}-.*Z \(older than 30m\)\?$/);
      expect(yes.purged).toBe(10);
      const left = (await quarantine(['--env', 'ops', '--stack-name', STACK], deps())).summary!;
      expect(left.total).toBe(2);
    });

    it('refuses to purge without a terminal unless --yes, and bad durations, in one line', () => {
      const noTty = cli('quarantine.ts', ['--env', 'ops', '--stack-name', STACK, '--purge-older-than', '7d']);
      expect(noTty.status).toBe(2);
      expect(noTty.stderr.trim()).toBe('quarantine: no terminal to confirm on: run it in a terminal, or pass --yes to confirm every step');
      const bad = cli('quarantine.ts', ['--env', 'ops', '--purge-older-than', 'a week']);
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim()).toBe("quarantine: --purge-older-than takes a duration such as 90s, 30m, 12h or 7d, got 'a week'");
      const two = cli('quarantine.ts', ['--env', 'ops', '--summary', '--export', 'x.jsonl']);
      expect(two.stderr.trim()).toBe('quarantine: --summary and --export are separate tasks; give one');
    });
  });

  describe('redrive --alerts', () => {
    it('publishes each undelivered alert to the alerts topic as the rule writes it, then deletes it', async () => {
      const sns = new SNSClient(config);
      const inbox = (await sqs.send(new CreateQueueCommand({ QueueName: 'controllers-inbox' }))).QueueUrl!;
      const inboxArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: inbox, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
      await sns.send(new SubscribeCommand({ TopicArn: deployed.outputs.AlertsTopicArn, Protocol: 'sqs', Endpoint: inboxArn, Attributes: { RawMessageDelivery: 'true' } }));
      const event = {
        version: '0',
        id: 'e-1',
        'detail-type': 'Traffic Congestion Alert',
        source: 'tapstack.traffic',
        account: '123456789012',
        time: '2026-11-22T08:15:03Z',
        region: 'us-east-1',
        resources: [],
        detail: { alert_id: 'a-1', level: 'CRITICAL', previous_level: 'WARNING', sensor_id: 'sensor-7', zone_id: 'downtown', congestion_index: 93.5, threshold: 90, reading_time: '2026-11-22T08:15:00.000Z', received_at: 1, detected_at: 2 },
      };
      await sqs.send(new SendMessageCommand({ QueueUrl: deployed.outputs.AlertDeliveryDeadLetterQueueUrl, MessageBody: JSON.stringify(event) }));
      lines = [];
      const report = await redrive(['--env', 'ops', '--stack-name', STACK, '--alerts'], deps());
      expect(report).toMatchObject({ messages: 1, redriven: 1 });
      const got = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: inbox, WaitTimeSeconds: 1 }))).Messages ?? [];
      expect(got.map((m) => m.Body)).toEqual([
        'Traffic congestion CRITICAL (was WARNING) at sensor sensor-7 in zone downtown: congestion index 93.5, threshold 90, reading at 2026-11-22T08:15:00.000Z. Alert a-1.',
      ]);
      expect(await queueDepth(deployed.outputs.AlertDeliveryDeadLetterQueueUrl!)).toBe(0);
    });
  });

  describe('teardown', () => {
    /** A bucket object and a sensor certificate attached to the stack's policy: what delete-stack trips on. */
    const leaveThingsBehind = async (bucket: string, policyName: string, thingName: string) => {
      const s3 = new S3Client({ ...config, forcePathStyle: true });
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/dt=2026-11-22/hour=08/part-0.parquet', Body: 'x' }));
      const iot = new IoTClient(config);
      await iot.send(new CreateThingCommand({ thingName }));
      const cert = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
      await iot.send(new AttachPolicyCommand({ policyName, target: cert.certificateArn }));
      await iot.send(new AttachThingPrincipalCommand({ thingName, principal: cert.certificateArn }));
      return cert.certificateId!;
    };

    it('--dry-run says what delete-stack leaves: retained stores, the non-empty bucket, the attached policy', async () => {
      await leaveThingsBehind(deployed.outputs.RawDataBucketName!, POLICY, 'sensor-00001');
      lines = [];
      const { plan } = await teardown(['--env', 'ops', '--stack-name', STACK, '--dry-run'], deps());
      expect(plan.throwaway).toBe(false);
      expect(plan.retained.map((r) => r.logicalId).sort()).toEqual(
        [
          'AccessLogBucket',
          'AlertDeliveryDeadLetterQueue',
          'AlertStateTable',
          'ConsoleApiAccessLogGroup',
          'ConsoleApiLogGroup',
          'ConsoleBucket',
          'ConsoleLogsBucket',
          // (moto's CreateStack skips the console's Cognito user pool: tests/unit/scripts/teardown.test.ts counts it)
          'DeliveryLogGroup',
          'EncryptionKey',
          'HealthDetectorDeadLetterQueue',
          'HealthDetectorLogGroup',
          'ProcessorDeadLetterQueue',
          'ProcessorLogGroup',
          'QuarantineQueue',
          'RawDataBucket',
          'ReadingsStream',
          'ReadingsTable',
          'SensorHealthTable',
          'SensorStatusTable',
          'TopicRuleErrorLogGroup',
        ].sort(),
      );
      expect(plan.buckets.find((b) => b.name === deployed.outputs.RawDataBucketName)).toEqual({ name: deployed.outputs.RawDataBucketName, objects: 1, retained: true });
      expect(plan.policy?.certificates).toHaveLength(1);
      expect(lines[0]).toBe(`After aws cloudformation delete-stack --stack-name ${STACK} (ThrowawayEnvironment=false), these stay:`);
      expect(lines).toContain(`  - AWS::DynamoDB::Table tapstack-ops-readings: retained (ThrowawayEnvironment=false), deletion protection on`);
      expect(lines.some((l) => l.startsWith(`  - AWS::IoT::Policy ${POLICY}: attached to 1 certificate,`))).toBe(true);
      expect(plan.terminationProtection).toBe(false);
    });

    it('refuses without a terminal unless --yes', () => {
      const result = cli('teardown.ts', ['--env', 'ops', '--stack-name', STACK]);
      expect(result.status).toBe(2);
      expect(result.stderr.trim()).toBe('teardown: no terminal to confirm on: run it in a terminal, or pass --yes to confirm every step');
    });

    it('answering no changes nothing', async () => {
      lines = [];
      const { done } = await teardown(['--env', 'ops', '--stack-name', STACK], { ...deps(), confirm: async () => false });
      expect(done).toEqual([]);
      expect(lines.at(-1)).toBe('Nothing changed.');
      expect((await new CloudFormationClient(config).send(new DescribeStacksCommand({ StackName: STACK }))).Stacks).toHaveLength(1);
    });

    // moto cannot DeleteStack this template (it reports the IoT policy's physical ID as a Python
    // object and fails on it): the stack deletion and the retained stores are in tests/unit/teardown.test.ts.
    it('empties the bucket, detaches the policy and deletes the certificates when confirmed', async () => {
      lines = [];
      const asked: string[] = [];
      const certificates = (await teardown(['--env', 'ops', '--stack-name', STACK, '--dry-run'], deps())).plan.policy!.certificates;
      const { done } = await teardown(['--env', 'ops', '--stack-name', STACK], { ...deps(), confirm: async (q) => (asked.push(q), !q.startsWith('Delete stack')) });
      expect(asked).toEqual([
        `Empty bucket ${deployed.outputs.RawDataBucketName} (1 object version, raw readings and Athena results)?`,
        `Detach IoT policy ${POLICY} from 1 certificate (those sensors can no longer connect)?`,
        'Also deactivate and delete that certificate (their things stay)?',
        `Delete stack ${STACK}?`,
      ]);
      expect(done).toEqual([`emptied ${deployed.outputs.RawDataBucketName} (1 object version)`, `detached ${POLICY} from 1 certificate`, 'deleted 1 certificate']);
      const certificateId = certificates[0]!.slice(certificates[0]!.lastIndexOf('/') + 1);
      await expect(new IoTClient(config).send(new DescribeCertificateCommand({ certificateId }))).rejects.toThrow();
      const after = (await teardown(['--env', 'ops', '--stack-name', STACK, '--dry-run'], deps())).plan;
      expect(after.buckets.find((b) => b.name === deployed.outputs.RawDataBucketName)?.objects).toBe(0);
      expect(after.policy?.certificates).toEqual([]);
    });
  });
});
