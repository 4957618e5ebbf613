/**
 * AWS limits and our own margins that more than one module relies on, declared once. Each AWS
 * figure cites the page it comes from; a limit used by one module only stays beside that module.
 * No imports: the pure core, the adapters and the scripts may all read it.
 */

/**
 * DynamoDB BatchGetItem: at most 100 keys per call (more is a ValidationException); a partial
 * answer comes back as UnprocessedKeys.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
 */
export const MAX_BATCH_GET_KEYS = 100;

/**
 * Kinesis PutRecords: at most 500 records per call, and 5 MiB per call counting each record's
 * data and partition key. Used by the local topic rule (scripts/simulate) and the redrive.
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
 */
export const MAX_PUT_RECORDS = 500;
export const MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024;

/**
 * Conditional writes to one item (a window, a sensor's alert state) that lose to a concurrent
 * writer before the records behind them are left for a retry of the batch. A conflict is a
 * ConditionalCheckFailed cancellation reason of TransactWriteItems
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html):
 * the next round merges into the item the failed condition answered, so a few rounds outlast any
 * realistic overlap of two invocations on one item, yet bound the work a pathological one causes.
 */
export const MAX_CONFLICTS = 5;

/**
 * A claim on an outbox entry (an alert the processor publishes, a health event the detector
 * publishes) lapses this long after its owner's deadline, so that another invocation, whose clock
 * may differ a little, never takes over an entry its owner may still be publishing. Lambda's
 * execution environments keep their clocks with NTP
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html, TZ), so seconds of
 * margin are ample.
 */
export const CLAIM_MARGIN_MS = 5_000;
