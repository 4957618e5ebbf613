/**
 * History: the processor → Firehose (Direct PUT) → S3 (Parquet, partitioned) → Glue/Athena → QuickSight.
 * The processor puts each batch's valid readings as a few large records of newline-delimited JSON
 * (handlers/processor/adapters/raw-data.ts), not one record per reading: Firehose bills ingestion
 * and format conversion per record rounded up to 5 KB.
 */
import { Athena, Glue, IAM, KinesisFirehose, Logs, QuickSight, S3 } from 'cloudform-types';
import { COLUMN_TYPES, RAW_COLUMNS } from '../../contract';
import type { AlarmSpec } from '../alarms';
import type { StackConfig } from '../config';
import { logGroup, PRIVATE_VERSIONED_BUCKET, retainUnlessThrowaway, tags, type TagConfig } from '../defaults';
import { allow, assumedBy, denyInsecureTransport, KMS_USE_ACTIONS, policyDocument } from '../iam';
import { accountId, arnOf, getAtt, ref, region, sub } from '../intrinsics';
import { exported, type Layer } from '../layer';
import { alarmMetric, metric, type Metric } from '../metrics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));
const RAW_PREFIX = 'raw/';
/** Where Firehose puts what it could not convert or deliver (ErrorOutputPrefix). */
const ERRORS_PREFIX = 'errors/';
const ATHENA_RESULTS_PREFIX = 'athena-results/';
/** The raw-data bucket's server access logs, in the access-log bucket. */
const RAW_BUCKET_LOG_PREFIX = 'raw-data-bucket/';

type AnalyticsConfig = TagConfig &
  Pick<
    StackConfig,
    | 'rawDataInfrequentAccessDays'
    | 'rawDataGlacierDays'
    | 'athenaResultsExpirationDays'
    | 'firehoseBufferSizeMb'
    | 'firehoseBufferIntervalSeconds'
  >;

const keyArn = () => arnOf(LogicalId.EncryptionKey);
const bucketArn = () => arnOf(LogicalId.RawDataBucket);
// `${RawDataBucket.Arn}/…` rather than a Sub variable map: cdk-nag's TLS-only rule reads only this form.
const objectsArn = (prefix = '') => sub(`\${RawDataBucket.Arn}/${prefix}*`);
const RAW_BUCKET_NAME = 'tapstack-${EnvironmentSuffix}-raw-${AWS::AccountId}-${AWS::Region}';
const accessLogBucketName = 'tapstack-${EnvironmentSuffix}-access-logs-${AWS::AccountId}-${AWS::Region}';
/** How long the raw-data bucket's access logs are kept. */
const ACCESS_LOG_RETENTION_DAYS = 365;

/** The raw-data bucket (encrypted, private, TLS-only, versioned, tiered by age) and its policy. */
function rawDataBucket(config: AnalyticsConfig) {
  const bucket = new S3.Bucket({
    BucketName: sub(RAW_BUCKET_NAME),
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn() }, BucketKeyEnabled: true },
      ],
    },
    ...PRIVATE_VERSIONED_BUCKET,
    // Who read or wrote what, for an audit of the lake (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerAccessLogs.html).
    LoggingConfiguration: { DestinationBucketName: ref(LogicalId.AccessLogBucket), LogFilePrefix: RAW_BUCKET_LOG_PREFIX },
    LifecycleConfiguration: {
      Rules: [
        {
          Id: 'raw-readings-tiering',
          Status: 'Enabled',
          Prefix: RAW_PREFIX,
          Transitions: [
            { StorageClass: 'STANDARD_IA', TransitionInDays: config.rawDataInfrequentAccessDays },
            { StorageClass: 'GLACIER_IR', TransitionInDays: config.rawDataGlacierDays },
          ],
        },
        {
          Id: 'athena-results-expiry',
          Status: 'Enabled',
          Prefix: ATHENA_RESULTS_PREFIX,
          ExpirationInDays: config.athenaResultsExpirationDays,
        },
        {
          Id: 'old-versions-and-uploads',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
      ],
    },
    Tags: tags(config),
  });
  retainUnlessThrowaway(bucket);

  // The raw-data bucket logs here only once the log bucket lets S3 deliver the logs.
  bucket.dependsOn(LogicalId.AccessLogBucketPolicy);

  const bucketPolicy = new S3.BucketPolicy({
    Bucket: ref(LogicalId.RawDataBucket),
    PolicyDocument: policyDocument(denyInsecureTransport('s3:*', [bucketArn(), objectsArn()])),
  });

  return { bucket, bucketPolicy, ...accessLogBucket(config) };
}

/**
 * The raw-data bucket's server access logs. SSE-S3, because server access log delivery does not
 * support a destination encrypted by default with SSE-KMS
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html); S3
 * writes the logs as the logging service, allowed by the bucket policy for this account's raw-data
 * bucket only (the policy form, not ACLs, as the page recommends with BucketOwnerEnforced).
 */
function accessLogBucket(config: AnalyticsConfig) {
  const logBucket = new S3.Bucket({
    BucketName: sub(accessLogBucketName),
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    ...PRIVATE_VERSIONED_BUCKET,
    LifecycleConfiguration: {
      Rules: [
        {
          Id: 'access-logs-expiry',
          Status: 'Enabled',
          ExpirationInDays: ACCESS_LOG_RETENTION_DAYS,
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
        },
      ],
    },
    Tags: tags(config),
  });
  retainUnlessThrowaway(logBucket);
  const logObjects = sub(`\${AccessLogBucket.Arn}/${RAW_BUCKET_LOG_PREFIX}*`);
  const logBucketPolicy = new S3.BucketPolicy({
    Bucket: ref(LogicalId.AccessLogBucket),
    PolicyDocument: policyDocument(
      {
        Sid: 'S3LogsTheRawDataBucket',
        Effect: 'Allow',
        Principal: { Service: 'logging.s3.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: logObjects,
        Condition: {
          StringEquals: { 'aws:SourceAccount': accountId },
          // The raw-data bucket by name: its ARN would make this policy wait for the bucket that waits for it.
          ArnLike: { 'aws:SourceArn': sub(`arn:\${AWS::Partition}:s3:::${RAW_BUCKET_NAME}`) },
        },
      },
      denyInsecureTransport('s3:*', [arnOf(LogicalId.AccessLogBucket), sub('${AccessLogBucket.Arn}/*')]),
    ),
  });
  return { logBucket, logBucketPolicy };
}

/** The Glue database and the raw readings table (Parquet, partition projection by day and hour). */
function glueCatalog() {
  const database = new Glue.Database({
    CatalogId: accountId,
    DatabaseInput: {
      Name: sub('tapstack_${EnvironmentSuffix}'),
      Description: 'TapStack raw sensor readings',
    },
  });

  const table = new Glue.Table({
    CatalogId: accountId,
    DatabaseName: ref(LogicalId.AnalyticsDatabase),
    TableInput: {
      Name: 'raw_readings',
      Description: 'Every sensor reading as received, Parquet, partitioned by day and hour (partition projection)',
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        classification: 'parquet',
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2025-01-01,NOW',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'projection.hour.type': 'enum',
        'projection.hour.values': HOURS.join(','),
        'storage.location.template': sub(`s3://\${RawDataBucket}/${RAW_PREFIX}dt=\${!dt}/hour=\${!hour}/`),
      },
      PartitionKeys: [
        { Name: 'dt', Type: 'string' },
        { Name: 'hour', Type: 'string' },
      ],
      StorageDescriptor: {
        Location: sub(`s3://\${RawDataBucket}/${RAW_PREFIX}`),
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        Columns: RAW_COLUMNS.map(({ Name, Type }) => ({ Name, Type })),
      },
    },
  });

  return { database, table };
}

/**
 * Firehose (Direct PUT: the processor puts records) to S3 as Parquet (schema from the Glue table),
 * its role and its log. Records in its buffer are encrypted with the stack key (server-side
 * encryption with a customer-managed key, through a grant Firehose creates:
 * https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeliveryStreamEncryptionConfigurationInput.html).
 */
function deliveryStream(config: AnalyticsConfig) {
  const deliveryLogGroup = logGroup(config, '/tapstack/${EnvironmentSuffix}/firehose');
  const deliveryLogStream = new Logs.LogStream({
    LogGroupName: ref(LogicalId.DeliveryLogGroup),
    LogStreamName: 'S3Delivery',
  });

  const glueTableArns = [
    sub('arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog'),
    sub('arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/${Db}', { Db: ref(LogicalId.AnalyticsDatabase) }),
    sub('arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${Db}/${Table}', {
      Db: ref(LogicalId.AnalyticsDatabase),
      Table: ref(LogicalId.RawReadingsTable),
    }),
  ];
  const deliveryRole = new IAM.Role({
    Description: 'Firehose: convert the raw readings to Parquet with the Glue schema, write to S3',
    AssumeRolePolicyDocument: assumedBy('firehose.amazonaws.com', { StringEquals: { 'sts:ExternalId': accountId } }),
    Policies: [
      {
        PolicyName: 'deliver-raw-readings',
        PolicyDocument: policyDocument(
          // Its own prefixes only (raw readings and its error output), not the bucket's other contents
          // (registration files, Athena results); the bucket-level actions of the documented policy
          // (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3) on the bucket.
          allow('FindBucket', ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], bucketArn()),
          allow(
            'WriteOwnPrefixes',
            ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
            [objectsArn(RAW_PREFIX), objectsArn(ERRORS_PREFIX)],
          ),
          allow('ReadSchema', ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'], glueTableArns),
          allow('UseStackKey', KMS_USE_ACTIONS, keyArn()),
          allow(
            'WriteDeliveryLog',
            ['logs:PutLogEvents'],
            sub('${LogGroupArn}:*', { LogGroupArn: arnOf(LogicalId.DeliveryLogGroup) }),
          ),
        ),
      },
    ],
    Tags: tags(config),
  });

  const deliveryStream = new KinesisFirehose.DeliveryStream({
    DeliveryStreamName: physicalName('raw-readings'),
    // https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html (DeliveryStreamType)
    DeliveryStreamType: 'DirectPut',
    DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: keyArn() },
    ExtendedS3DestinationConfiguration: {
      BucketARN: bucketArn(),
      RoleARN: arnOf(LogicalId.DeliveryRole),
      Prefix: `${RAW_PREFIX}dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/`,
      ErrorOutputPrefix: `${ERRORS_PREFIX}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
      BufferingHints: { SizeInMBs: config.firehoseBufferSizeMb, IntervalInSeconds: config.firehoseBufferIntervalSeconds },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: keyArn() } },
      CloudWatchLoggingOptions: {
        Enabled: true,
        LogGroupName: ref(LogicalId.DeliveryLogGroup),
        LogStreamName: ref(LogicalId.DeliveryLogStream),
      },
      DataFormatConversionConfiguration: {
        Enabled: true,
        InputFormatConfiguration: {
          Deserializer: {
            OpenXJsonSerDe: {
              ColumnToJsonKeyMappings: Object.fromEntries(
                RAW_COLUMNS.flatMap((c) => (c.jsonKey ? [[c.Name, c.jsonKey]] : [])),
              ),
            },
          },
        },
        OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
        SchemaConfiguration: {
          CatalogId: accountId,
          DatabaseName: ref(LogicalId.AnalyticsDatabase),
          TableName: ref(LogicalId.RawReadingsTable),
          Region: region,
          RoleARN: arnOf(LogicalId.DeliveryRole),
          VersionId: 'LATEST',
        },
      },
    },
    Tags: tags(config),
  });

  return { deliveryLogGroup, deliveryLogStream, deliveryRole, deliveryStream };
}

/** The Athena workgroup over the raw readings, results encrypted with the stack key. */
function athenaWorkGroup(config: AnalyticsConfig) {
  const workGroup = new Athena.WorkGroup({
    Name: physicalName('analytics'),
    Description: 'Queries over the raw readings; results encrypted with the stack key',
    RecursiveDeleteOption: true,
    WorkGroupConfiguration: {
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      ResultConfiguration: {
        OutputLocation: sub(`s3://\${RawDataBucket}/${ATHENA_RESULTS_PREFIX}`),
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: keyArn() },
      },
    },
    Tags: tags(config),
  });

  return workGroup;
}

/** QuickSight data source and data set (only when a principal is given). */
function quickSight(config: AnalyticsConfig) {
  const principal = param(Param.QuickSightPrincipalArn);
  const dataSource = new QuickSight.DataSource({
    AwsAccountId: accountId,
    DataSourceId: physicalName('athena'),
    Name: physicalName('athena'),
    Type: 'ATHENA',
    DataSourceParameters: { AthenaParameters: { WorkGroup: ref(LogicalId.AthenaWorkGroup) } },
    SslProperties: { DisableSsl: false },
    Permissions: [
      {
        Principal: principal,
        Actions: [
          'quicksight:DescribeDataSource',
          'quicksight:DescribeDataSourcePermissions',
          'quicksight:PassDataSource',
          'quicksight:UpdateDataSource',
          'quicksight:DeleteDataSource',
          'quicksight:UpdateDataSourcePermissions',
        ],
      },
    ],
    Tags: tags(config),
  }).condition(Cond.HasQuickSight);

  const dataSet = new QuickSight.DataSet({
    AwsAccountId: accountId,
    DataSetId: physicalName('raw-readings'),
    Name: physicalName('raw-readings'),
    ImportMode: 'DIRECT_QUERY',
    PhysicalTableMap: {
      rawReadings: {
        RelationalTable: {
          DataSourceArn: getAtt(LogicalId.QuickSightDataSource, 'Arn'),
          Catalog: 'AwsDataCatalog',
          Schema: ref(LogicalId.AnalyticsDatabase),
          Name: ref(LogicalId.RawReadingsTable),
          InputColumns: [
            ...RAW_COLUMNS.map((c) => ({ Name: c.Name, Type: COLUMN_TYPES[c.Type] })),
            { Name: 'dt', Type: 'STRING' },
            { Name: 'hour', Type: 'STRING' },
          ],
        },
      },
    },
    Permissions: [
      {
        Principal: principal,
        Actions: [
          'quicksight:DescribeDataSet',
          'quicksight:DescribeDataSetPermissions',
          'quicksight:PassDataSet',
          'quicksight:DescribeIngestion',
          'quicksight:ListIngestions',
          'quicksight:UpdateDataSet',
          'quicksight:DeleteDataSet',
          'quicksight:CreateIngestion',
          'quicksight:CancelIngestion',
          'quicksight:UpdateDataSetPermissions',
        ],
      },
    ],
    Tags: tags(config),
  }).condition(Cond.HasQuickSight);

  return { dataSource, dataSet };
}

/** A metric of the raw-data delivery stream (AWS/Firehose). */
export const deliveryStreamMetric = (name: 'DeliveryToS3.DataFreshness' | 'DeliveryToS3.Success'): Metric =>
  metric('AWS/Firehose', name, { DeliveryStreamName: `\${${LogicalId.DeliveryStream}}` });

/** Alarms on the delivery to S3. */
function deliveryAlarms(config: AnalyticsConfig): AlarmSpec[] {
  const s3Runbook =
    'Firehose log group `/tapstack/<env>/firehose` and `errors/` in the bucket: usually the Glue table schema or the key ' +
    'policy. Firehose keeps Direct PUT records 24 h and retries S3 meanwhile ' +
    '(https://docs.aws.amazon.com/firehose/latest/dev/troubleshooting.html); the processor retries what Firehose does not take ' +
    '(`RawDeliveryFailures`).';
  return [
    {
      id: LogicalId.DeliveryFreshnessAlarm,
      name: 'firehose-freshness',
      description: 'Raw readings are not reaching S3 in time (Firehose delivery is behind)',
      runbook: s3Runbook,
      ...alarmMetric(deliveryStreamMetric('DeliveryToS3.DataFreshness')),
      statistic: 'Maximum',
      threshold: config.firehoseBufferIntervalSeconds * 3,
      periodSeconds: 300,
    },
    {
      id: LogicalId.DeliveryFailureAlarm,
      name: 'firehose-delivery-failures',
      description: 'Firehose failed to write raw readings to S3 (see its log group and errors/ in the bucket)',
      runbook: s3Runbook,
      ...alarmMetric(deliveryStreamMetric('DeliveryToS3.Success')),
      statistic: 'Minimum',
      comparison: 'LessThanThreshold',
      threshold: 1,
      periodSeconds: 300,
    },
  ];
}

/** The analytics path: bucket, catalog, delivery, Athena and (optionally) QuickSight. */
export function buildAnalytics(config: AnalyticsConfig): Layer {
  const { bucket, bucketPolicy, logBucket, logBucketPolicy } = rawDataBucket(config);
  const { database, table } = glueCatalog();
  const { deliveryLogGroup, deliveryLogStream, deliveryRole, deliveryStream: stream } = deliveryStream(config);
  const workGroup = athenaWorkGroup(config);
  const { dataSource, dataSet } = quickSight(config);
  return {
    resources: {
      RawDataBucket: bucket,
      RawDataBucketPolicy: bucketPolicy,
      AccessLogBucket: logBucket,
      AccessLogBucketPolicy: logBucketPolicy,
      AnalyticsDatabase: database,
      RawReadingsTable: table,
      DeliveryLogGroup: deliveryLogGroup,
      DeliveryLogStream: deliveryLogStream,
      DeliveryRole: deliveryRole,
      DeliveryStream: stream,
      AthenaWorkGroup: workGroup,
      QuickSightDataSource: dataSource,
      QuickSightDataSet: dataSet,
    },
    outputs: {
      RawDataBucketName: exported('Raw readings (Parquet) and Athena results', ref(LogicalId.RawDataBucket), 'RawDataBucketName'),
      AthenaWorkGroupName: exported('Athena workgroup for the raw readings', ref(LogicalId.AthenaWorkGroup), 'AthenaWorkGroupName'),
      AnalyticsDatabaseName: exported('Glue database of the raw readings table', ref(LogicalId.AnalyticsDatabase), 'AnalyticsDatabaseName'),
      QuickSightDataSetArn: {
        Description: 'QuickSight data set over the raw readings',
        Value: getAtt(LogicalId.QuickSightDataSet, 'Arn'),
        Condition: Cond.HasQuickSight,
      },
    },
    alarms: deliveryAlarms(config),
  };
}
