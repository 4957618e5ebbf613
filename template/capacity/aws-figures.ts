/**
 * What AWS publishes that the capacity model uses: limits and quotas, and prices. Every figure
 * carries its source; prices are us-east-1 list prices (USD) as published on the pricing pages
 * cited, and change over time.
 */

const BIG_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'];
const big = (region: string) => BIG_REGIONS.includes(region);

/** AWS limits, quotas and prices the model uses, each with its source. */
export const AWS = {
  kinesis: {
    // https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
    recordsPerShardPerSecond: 1_000,
    bytesPerShardPerSecond: 1_048_576,
    /** Default shard quota per account: 500 in us-east-1, us-west-2, eu-west-1; 200 elsewhere. */
    shardQuota: (region: string) => (big(region) ? 500 : 200),
    // https://aws.amazon.com/kinesis/data-streams/pricing/
    shardHourUsd: 0.015,
    /** PUT payload units: one per 25 KB of a record. */
    putPayloadUnitBytes: 25 * 1024,
    putPayloadUnitsPerMillionUsd: 0.014,
    /** On-demand Standard: per stream-hour, per GB in (each record rounded up to 1 KB), per GB out. */
    onDemandStreamHourUsd: 0.04,
    onDemandIngestPerGbUsd: 0.08,
    onDemandRecordRoundingBytes: 1_024,
    onDemandRetrievalPerGbUsd: 0.04,
    /**
     * On-demand Advantage (an account-level mode): no per-stream charge, ingest and retrieval "at
     * least 60% lower than On-demand Standard"
     * (https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html); modelled at 40%.
     */
    onDemandAdvantageShare: 0.4,
  },
  iot: {
    // https://docs.aws.amazon.com/general/latest/gr/iot-core.html#message-broker-limits (adjustable)
    inboundPublishesPerSecond: (region: string) => (big(region) ? 20_000 : 10_000),
    outboundPublishesPerSecond: (region: string) => (big(region) ? 20_000 : 10_000),
    connectsPerSecond: (region: string) => (big(region) ? 500 : 100),
    publishesPerSecondPerConnection: 100,
    // https://aws.amazon.com/iot-core/pricing/ (messages metered in 5 KB increments; monthly tiers)
    messageBillingBytes: 5_120,
    messageTiers: [
      { upToMillions: 1_000, perMillionUsd: 1.0 },
      { upToMillions: 5_000, perMillionUsd: 0.8 },
      { upToMillions: Infinity, perMillionUsd: 0.7 },
    ],
    rulesTriggeredPerMillionUsd: 0.15,
    actionsExecutedPerMillionUsd: 0.15,
    connectionMinutesPerMillionUsd: 0.08,
    /** Basic Ingest: "no messaging costs" (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html). */
    basicIngestMessageUsd: 0,
    // https://aws.amazon.com/iot-device-management/pricing/ and https://aws.amazon.com/iot-core/pricing/
    bulkRegistrationPerThousandUsd: 0.1,
    registryOperationsPerMillionUsd: 1.25,
  },
  lambda: {
    // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    accountConcurrency: 1_000,
    /** Lambda keeps this much of the account's concurrency unreserved. */
    unreservedMinimum: 100,
    // https://aws.amazon.com/lambda/pricing/ (arm64)
    requestsPerMillionUsd: 0.2,
    gbSecondUsd: 0.0000133334,
  },
  dynamodb: {
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
    partitionWcuPerSecond: 1_000,
    tableWcuQuota: 40_000,
    /** Write units: one per 1 KB of the larger of the old and new item. */
    writeUnitBytes: 1_024,
    /**
     * A transactional write costs twice a standard one: "Transactional write requests require two
     * WCUs to perform one write per second for items up to 1 KB"
     * (https://aws.amazon.com/dynamodb/pricing/provisioned/). The processor's conditional writes go
     * out as TransactWriteItems, 100 a call (handlers/processor/adapters/conditional-writes.ts);
     * PartiQL's BatchExecuteStatement would pay one (see `options`).
     */
    transactionalWriteFactor: 2,
    // https://aws.amazon.com/dynamodb/pricing/
    onDemandWriteUnitsPerMillionUsd: 0.625,
    onDemandReadUnitsPerMillionUsd: 0.125,
    provisionedWcuHourUsd: 0.00065,
    provisionedRcuHourUsd: 0.00013,
    storageGbMonthUsd: 0.25,
    /**
     * A new on-demand table serves 4,000 writes/s at once; raising warm throughput above that is a
     * one-time charge (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html).
     */
    newOnDemandTableWarmWrites: 4_000,
  },
  eventbridge: {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
    putEventsPerSecond: (region: string) => (big(region) ? 10_000 : 2_400),
    // https://aws.amazon.com/eventbridge/pricing/ (custom events; Scheduler: $1.00 per million invocations)
    customEventsPerMillionUsd: 1.0,
    schedulerInvocationsPerMillionUsd: 1.0,
  },
  sns: {
    // https://docs.aws.amazon.com/general/latest/gr/sns.html (email: hard limit)
    emailMessagesPerSecond: 10,
    // https://aws.amazon.com/sns/pricing/ (email/email-JSON: $2.00 per 100,000 notifications)
    emailPerMillionUsd: 20,
  },
  firehose: {
    // https://aws.amazon.com/firehose/pricing/ (ingestion and format conversion billed per record in 5 KB increments)
    ingestPerGbUsd: 0.029,
    billingIncrementBytes: 5_120,
    formatConversionPerGbUsd: 0.018,
    // https://docs.aws.amazon.com/firehose/latest/dev/limits.html (Direct PUT, us-east-1/us-west-2/eu-west-1; adjustable)
    directPutBytesPerSecond: (region: string) => (big(region) ? 5 * 1_048_576 : 1_048_576),
    directPutRequestsPerSecond: (region: string) => (big(region) ? 2_000 : 1_000),
    directPutRecordsPerSecond: (region: string) => (big(region) ? 500_000 : 100_000),
    /** PutRecordBatch: 500 records, 4 MiB per call; a record at most 1,000 KiB. */
    maxRecordBytes: 1_000 * 1_024,
  },
  s3: {
    // https://aws.amazon.com/s3/pricing/
    standardGbMonthUsd: 0.023,
  },
  kms: {
    // https://aws.amazon.com/kms/pricing/
    keyMonthUsd: 1,
    requestsPer10kUsd: 0.03,
  },
  cloudwatch: {
    // https://aws.amazon.com/cloudwatch/pricing/
    logsIngestPerGbUsd: 0.5,
    customMetricMonthUsd: 0.3,
    standardAlarmMonthUsd: 0.1,
    dashboardMonthUsd: 3,
  },
} as const;
