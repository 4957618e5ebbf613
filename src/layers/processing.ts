/** The processor Lambda, its event source mapping, its queues and its role. */
import { IAM, Lambda, Logs, SQS } from 'cloudform-types';
import { allow, denyInsecureTransport, exported, policyDocument, retainUnlessThrowaway, tags, type Layer } from '../common';
import type { StackConfig } from '../config';
import { ALERT_STATE_TABLE, ENV } from '../contract';
import { arnOf, getAtt, ref, sub } from '../intrinsics';
import { LogicalId, physicalName } from '../names';
import { Param, param } from '../parameters';

/** An encrypted queue that keeps messages 14 days, and its TLS-only policy. */
export function encryptedQueue(config: StackConfig, name: string, queueId: string) {
  const queue = new SQS.Queue({
    QueueName: physicalName(name),
    KmsMasterKeyId: arnOf(LogicalId.EncryptionKey),
    KmsDataKeyReusePeriodSeconds: 300,
    MessageRetentionPeriod: config.queueRetentionSeconds,
    Tags: tags(config),
  });
  retainUnlessThrowaway(queue);
  const policy = new SQS.QueuePolicy({
    Queues: [ref(queueId)],
    PolicyDocument: policyDocument(denyInsecureTransport('sqs:*', arnOf(queueId))),
  });
  return { queue, policy };
}

export function buildProcessing(config: StackConfig): Layer {
  const dlq = encryptedQueue(config, 'processor-dlq', LogicalId.ProcessorDeadLetterQueue);
  const quarantine = encryptedQueue(config, 'quarantine', LogicalId.QuarantineQueue);

  const logGroup = new Logs.LogGroup({
    LogGroupName: sub('/aws/lambda/tapstack-${EnvironmentSuffix}-processor'),
    RetentionInDays: param(Param.LogRetentionDays),
    KmsKeyId: arnOf(LogicalId.EncryptionKey),
    Tags: tags(config),
  });

  const keyArn = arnOf(LogicalId.EncryptionKey);
  const role = new IAM.Role({
    Description: 'Processor Lambda: read the stream, write readings and alert state, publish alerts, quarantine bad input',
    AssumeRolePolicyDocument: policyDocument({
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: 'sts:AssumeRole',
    }),
    Policies: [
      {
        PolicyName: 'processor',
        PolicyDocument: policyDocument(
          allow(
            'ReadStream',
            [
              'kinesis:DescribeStream',
              'kinesis:DescribeStreamSummary',
              'kinesis:GetRecords',
              'kinesis:GetShardIterator',
              'kinesis:ListShards',
            ],
            arnOf(LogicalId.ReadingsStream),
          ),
          allow('WriteReadings', ['dynamodb:BatchWriteItem'], arnOf(LogicalId.ReadingsTable)),
          allow(
            'ReadAndWriteAlertState',
            ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'],
            arnOf(LogicalId.AlertStateTable),
          ),
          allow(
            'FindElevatedSensors',
            ['dynamodb:Query'],
            sub(`\${Table}/index/${ALERT_STATE_TABLE.elevatedIndexName}`, { Table: arnOf(LogicalId.AlertStateTable) }),
          ),
          allow('PublishAlerts', ['events:PutEvents'], arnOf(LogicalId.AlertBus)),
          allow('QuarantineAndDeadLetter', ['sqs:SendMessage'], [
            arnOf(LogicalId.QuarantineQueue),
            arnOf(LogicalId.ProcessorDeadLetterQueue),
          ]),
          allow('UseStackKey', ['kms:Decrypt', 'kms:GenerateDataKey'], keyArn),
          allow(
            'WriteOwnLogs',
            ['logs:CreateLogStream', 'logs:PutLogEvents'],
            sub('${LogGroupArn}:*', { LogGroupArn: arnOf(LogicalId.ProcessorLogGroup) }),
          ),
        ),
      },
    ],
    Tags: tags(config),
  });

  const fn = new Lambda.Function({
    FunctionName: physicalName('processor'),
    Description: 'Validates, enriches and rolls up sensor readings; alerts on congestion level transitions',
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: 'index.handler',
    Code: { S3Bucket: param(Param.LambdaCodeS3Bucket), S3Key: param(Param.LambdaCodeS3Key) },
    Role: arnOf(LogicalId.ProcessorRole),
    MemorySize: param(Param.ProcessorMemoryMB),
    Timeout: config.processorTimeoutSeconds,
    ReservedConcurrentExecutions: param(Param.ProcessorReservedConcurrency),
    LoggingConfig: {
      LogFormat: 'JSON',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'WARN',
      LogGroup: ref(LogicalId.ProcessorLogGroup),
    },
    Environment: {
      Variables: {
        [ENV.tableName]: ref(LogicalId.ReadingsTable),
        [ENV.alertStateTableName]: ref(LogicalId.AlertStateTable),
        [ENV.eventBusName]: getAtt(LogicalId.AlertBus, 'Name'),
        [ENV.quarantineQueueUrl]: ref(LogicalId.QuarantineQueue),
        [ENV.metricsNamespace]: sub(`${config.metricsNamespacePrefix}/\${EnvironmentSuffix}`),
        [ENV.warningThreshold]: param(Param.AlertThresholdCongestionIndex),
        [ENV.criticalThreshold]: param(Param.CriticalThresholdCongestionIndex),
        [ENV.alertHysteresisPoints]: String(config.alertHysteresisPoints),
        [ENV.alertCooldownSeconds]: param(Param.AlertCooldownSeconds),
        [ENV.zoneIndexShards]: param(Param.ZoneIndexShards),
        [ENV.readingTtlDays]: param(Param.ReadingRetentionDays),
        [ENV.streamRetentionHours]: param(Param.StreamRetentionHours),
        NODE_OPTIONS: '--enable-source-maps',
      },
    },
    Tags: tags(config),
  });

  const mapping = new Lambda.EventSourceMapping({
    EventSourceArn: arnOf(LogicalId.ReadingsStream),
    FunctionName: ref(LogicalId.ProcessorFunction),
    StartingPosition: 'TRIM_HORIZON',
    BatchSize: config.processorBatchSize,
    MaximumBatchingWindowInSeconds: param(Param.BatchingWindowSeconds),
    ParallelizationFactor: param(Param.ProcessorParallelizationFactor),
    BisectBatchOnFunctionError: true,
    MaximumRetryAttempts: config.processorMaximumRetryAttempts,
    MaximumRecordAgeInSeconds: config.processorMaximumRecordAgeSeconds,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    DestinationConfig: { OnFailure: { Destination: arnOf(LogicalId.ProcessorDeadLetterQueue) } },
    Tags: tags(config),
  });

  return {
    resources: {
      ProcessorDeadLetterQueue: dlq.queue,
      ProcessorDeadLetterQueuePolicy: dlq.policy,
      QuarantineQueue: quarantine.queue,
      QuarantineQueuePolicy: quarantine.policy,
      ProcessorLogGroup: logGroup,
      ProcessorRole: role,
      ProcessorFunction: fn,
      ProcessorEventSourceMapping: mapping,
    },
    outputs: {
      ProcessorFunctionName: exported('The processor Lambda function', ref(LogicalId.ProcessorFunction), 'ProcessorFunctionName'),
      QuarantineQueueUrl: exported('Readings that failed validation, with their reason', ref(LogicalId.QuarantineQueue), 'QuarantineQueueUrl'),
      ProcessorDeadLetterQueueUrl: exported(
        'Batches the processor gave up on (Kinesis positions to replay)',
        ref(LogicalId.ProcessorDeadLetterQueue),
        'ProcessorDeadLetterQueueUrl',
      ),
    },
  };
}
