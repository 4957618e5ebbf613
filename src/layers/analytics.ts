/** History: Firehose → S3 (Parquet, partitioned) → Glue/Athena → QuickSight. */
import { Athena, Glue, IAM, KinesisFirehose, Logs, QuickSight, S3 } from 'cloudform-types';
import {
  allow,
  assumedBy,
  denyInsecureTransport,
  exported,
  policyDocument,
  retainUnlessThrowaway,
  tags,
  type Layer,
} from '../common';
import type { StackConfig } from '../config';
import { RULE_FIELDS } from '../contract';
import { accountId, arnOf, getAtt, ref, region, sub } from '../intrinsics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

/** Columns of the raw readings as the IoT rule writes them; `timestamp` is renamed (an Athena keyword). */
export const RAW_READING_COLUMNS = [
  { Name: 'sensor_id', Type: 'string' },
  { Name: 'zone_id', Type: 'string' },
  { Name: 'reading_time', Type: 'string', jsonKey: 'timestamp' },
  { Name: 'vehicle_count', Type: 'int' },
  { Name: 'avg_speed', Type: 'double' },
  { Name: 'congestion_index', Type: 'double' },
  { Name: 'temperature', Type: 'double' },
  { Name: 'weather_condition', Type: 'string' },
  { Name: RULE_FIELDS.receivedAt, Type: 'bigint' },
  { Name: RULE_FIELDS.thingName, Type: 'string' },
] as const;

const QUICKSIGHT_TYPES = { string: 'STRING', int: 'INTEGER', bigint: 'INTEGER', double: 'DECIMAL' } as const;
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));
const RAW_PREFIX = 'raw/';
const ATHENA_RESULTS_PREFIX = 'athena-results/';

export function buildAnalytics(config: StackConfig): Layer {
  const keyArn = arnOf(LogicalId.EncryptionKey);
  const bucketArn = arnOf(LogicalId.RawDataBucket);
  const objectsArn = sub('${Bucket}/*', { Bucket: bucketArn });

  const bucket = new S3.Bucket({
    BucketName: sub('tapstack-${EnvironmentSuffix}-raw-${AWS::AccountId}-${AWS::Region}'),
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn }, BucketKeyEnabled: true },
      ],
    },
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    VersioningConfiguration: { Status: 'Enabled' },
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

  const bucketPolicy = new S3.BucketPolicy({
    Bucket: ref(LogicalId.RawDataBucket),
    PolicyDocument: policyDocument(denyInsecureTransport('s3:*', [bucketArn, objectsArn])),
  });

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
        Columns: RAW_READING_COLUMNS.map(({ Name, Type }) => ({ Name, Type })),
      },
    },
  });

  const deliveryLogGroup = new Logs.LogGroup({
    LogGroupName: sub('/tapstack/${EnvironmentSuffix}/firehose'),
    RetentionInDays: param(Param.LogRetentionDays),
    KmsKeyId: keyArn,
    Tags: tags(config),
  });
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
    Description: 'Firehose: read the readings stream, convert to Parquet with the Glue schema, write to S3',
    AssumeRolePolicyDocument: assumedBy('firehose.amazonaws.com', { StringEquals: { 'sts:ExternalId': accountId } }),
    Policies: [
      {
        PolicyName: 'deliver-raw-readings',
        PolicyDocument: policyDocument(
          allow(
            'ReadStream',
            ['kinesis:DescribeStream', 'kinesis:GetShardIterator', 'kinesis:GetRecords', 'kinesis:ListShards'],
            arnOf(LogicalId.ReadingsStream),
          ),
          allow(
            'WriteObjects',
            [
              's3:AbortMultipartUpload',
              's3:GetBucketLocation',
              's3:GetObject',
              's3:ListBucket',
              's3:ListBucketMultipartUploads',
              's3:PutObject',
            ],
            [bucketArn, objectsArn],
          ),
          allow('ReadSchema', ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'], glueTableArns),
          allow('UseStackKey', ['kms:Decrypt', 'kms:GenerateDataKey'], keyArn),
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
    DeliveryStreamType: 'KinesisStreamAsSource',
    KinesisStreamSourceConfiguration: {
      KinesisStreamARN: arnOf(LogicalId.ReadingsStream),
      RoleARN: arnOf(LogicalId.DeliveryRole),
    },
    ExtendedS3DestinationConfiguration: {
      BucketARN: bucketArn,
      RoleARN: arnOf(LogicalId.DeliveryRole),
      Prefix: `${RAW_PREFIX}dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/`,
      ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      BufferingHints: { SizeInMBs: config.firehoseBufferSizeMb, IntervalInSeconds: config.firehoseBufferIntervalSeconds },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: keyArn } },
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
                RAW_READING_COLUMNS.flatMap((c) => ('jsonKey' in c ? [[c.Name, c.jsonKey]] : [])),
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

  const workGroup = new Athena.WorkGroup({
    Name: physicalName('analytics'),
    Description: 'Queries over the raw readings; results encrypted with the stack key',
    RecursiveDeleteOption: true,
    WorkGroupConfiguration: {
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      ResultConfiguration: {
        OutputLocation: sub(`s3://\${RawDataBucket}/${ATHENA_RESULTS_PREFIX}`),
        EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: keyArn },
      },
    },
    Tags: tags(config),
  });

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
            ...RAW_READING_COLUMNS.map((c) => ({ Name: c.Name, Type: QUICKSIGHT_TYPES[c.Type] })),
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

  return {
    resources: {
      RawDataBucket: bucket,
      RawDataBucketPolicy: bucketPolicy,
      AnalyticsDatabase: database,
      RawReadingsTable: table,
      DeliveryLogGroup: deliveryLogGroup,
      DeliveryLogStream: deliveryLogStream,
      DeliveryRole: deliveryRole,
      DeliveryStream: deliveryStream,
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
  };
}
