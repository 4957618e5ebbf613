/**
 * Valid readings → the raw-data lake's Firehose delivery stream (Direct PUT), as few large records
 * as the limits allow: Firehose bills ingestion and format conversion per record rounded up to
 * 5 KB, so one record per 187-byte reading would be billed 27 times its size.
 *
 * A record is the readings' JSON documents as received, one per line (newline-delimited JSON).
 * Conversion to Parquet reads several JSON documents in one record, but not a JSON array
 * (https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html: "{"a":1}{"a":2}"
 * is correct input, "[{"a":1},{"a":2}]" is not); the newline is whitespace to the deserializer and
 * lets anyone split the records again. Each payload is copied into its record as validation
 * decoded it (base64 is decoded once per reading): the bytes the sensor sent, its closing brace
 * replaced by the receive time IoT Core stamped (`,"received_at":N}`).
 *
 * Failed records (the call throttled or failing, or FailedPutCount > 0 with a per-record
 * ErrorCode) are sent again with backoff and jitter until the deadline, as Firehose asks of Direct PUT
 * producers (https://docs.aws.amazon.com/firehose/latest/dev/troubleshooting.html); the readings of a record still
 * failing are answered so that the handler reports them for retry. Firehose has no idempotency
 * key, so the lake is at least once: a retried call whose first attempt took effect, or a batch
 * delivered again, stores its readings again (dedupe by sensor and reading time in queries).
 */
import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import type { Payloads } from '../core/payloads';
import type { InputRecord } from '../core/types';
import { sendInGroups } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/**
 * PutRecordBatch limits, which cannot be raised: 500 records per call; a record's data at most
 * 1,000 KiB before base64 (Record.Data, at most 1,024,000 bytes); 4 MB for the whole call, read here
 * as 4,000,000 bytes of data, the smaller of MB and MiB.
 * https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
 * https://docs.aws.amazon.com/firehose/latest/APIReference/API_Record.html
 */
export const MAX_RECORDS_PER_CALL = 500;
export const MAX_RECORD_BYTES = 1_024_000;
export const MAX_CALL_BYTES = 4_000_000;

const NEWLINE = 0x0a;
const SPACE = 0x20;

/** One Firehose record: newline-delimited readings, and the positions (in the batch) of their Kinesis records. */
export interface RawRecord {
  data: Buffer;
  readings: number[];
}

const CLOSE_BRACE = 0x7d;
/** `,"received_at":` and up to 16 digits and `}`: what a line adds to the sensor's bytes. */
const RECEIVED_AT_PREFIX = ',"received_at":';
export const RECEIVED_AT_BYTES = RECEIVED_AT_PREFIX.length + 17;
const PREFIX = Buffer.from(RECEIVED_AT_PREFIX, 'latin1');

/**
 * Writes a non-negative safe integer's decimal digits at `at`; answers where they end. A receive
 * time has 13 digits: it is written as two parts of at most 8 digits, each in 32-bit integer
 * arithmetic, rather than digit by digit in floating point (a test compares it with String(value)).
 */
export function writeDigits(out: Buffer, at: number, value: number): number {
  const high = Math.floor(value / 1e8);
  if (high === 0) return writeSmall(out, at, value, digitCount(value));
  return writeSmall(out, writeDigits(out, at, high), value - high * 1e8, 8);
}
/** Decimal digits of an integer from 0 to 99,999,999. */
const digitCount = (v: number): number => {
  let digits = 1;
  for (let limit = 10; v >= limit && digits < 8; limit *= 10) digits++;
  return digits;
};
/** Writes `v` (0 to 99,999,999) as exactly `digits` digits, zero-padded. */
function writeSmall(out: Buffer, at: number, v: number, digits: number): number {
  let rest = v | 0;
  for (let i = at + digits - 1; i >= at; i--) {
    const tenth = (rest / 10) | 0;
    out[i] = 48 + rest - tenth * 10;
    rest = tenth;
  }
  return at + digits;
}

/**
 * Packs the payloads at `positions` (in order; decoded once, by validation) into records of at most
 * `maxRecordBytes`, each payload with its receive time (the record's `receivedAtMs`, set by
 * validation), followed by a newline. The payloads are valid readings, so each is one JSON object.
 * A newline inside a payload can only be whitespace between JSON tokens (a JSON string cannot hold
 * a raw line break), so it becomes a space: one reading, one line.
 */
export function packRecords(
  records: readonly InputRecord[],
  payloads: Payloads,
  positions: readonly number[],
  maxRecordBytes = MAX_RECORD_BYTES,
): RawRecord[] {
  const packed: RawRecord[] = [];
  for (let from = 0; from < positions.length; ) {
    // The readings that fit (a payload is at most 4 KiB, so at least one fits).
    let bytes = 0;
    let to = from;
    while (to < positions.length) {
      const size = payloads.length(positions[to]!) + RECEIVED_AT_BYTES + 1;
      if (bytes + size > maxRecordBytes && to > from) break;
      bytes += size;
      to++;
    }
    const data = Buffer.allocUnsafe(bytes);
    const readings = positions.slice(from, to);
    let offset = 0;
    for (let k = 0; k < readings.length; k++) {
      const position = readings[k]!;
      const start = offset;
      offset += payloads.copy(position, data, offset);
      // Searching back from the payload's end stops at the previous separator: one short native scan.
      for (let nl = data.lastIndexOf(NEWLINE, offset - 1); nl >= start; nl = data.lastIndexOf(NEWLINE, nl - 1)) data[nl] = SPACE;
      // The object's closing brace (only whitespace may follow it; most often it is the last byte)
      // becomes the receive time and a brace.
      offset = data[offset - 1] === CLOSE_BRACE ? offset - 1 : data.lastIndexOf(CLOSE_BRACE, offset - 1);
      for (let i = 0; i < PREFIX.length; i++) data[offset++] = PREFIX[i]!;
      offset = writeDigits(data, offset, records[position]!.receivedAtMs!);
      data[offset++] = CLOSE_BRACE;
      data[offset++] = NEWLINE;
    }
    packed.push({ data: data.subarray(0, offset), readings });
    from = to;
  }
  return packed;
}

/** Groups records into calls of at most MAX_RECORDS_PER_CALL records and MAX_CALL_BYTES bytes, in order. */
export function groupCalls(records: readonly RawRecord[]): RawRecord[][] {
  const calls: RawRecord[][] = [];
  let current: RawRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length > 0 && (current.length === MAX_RECORDS_PER_CALL || bytes + record.data.length > MAX_CALL_BYTES)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.data.length;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/** Puts every record; answers those still failing when retries ran out, and the retries made. */
export async function putRawRecords(
  client: FirehoseClient,
  deliveryStreamName: string,
  records: RawRecord[],
  io: IoContext,
  counter: CallCounter,
): Promise<{ failed: RawRecord[]; retries: number }> {
  return sendInGroups(io, 'PutRecordBatch', groupCalls(records), async (pending, abortSignal) => {
    counter.add('PutRecordBatch');
    const out = await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: deliveryStreamName, Records: pending.map((r) => ({ Data: r.data })) }),
      { abortSignal },
    );
    if (!out.FailedPutCount) return [];
    // Responses are in the order of the request's records; without them, every record counts as failed.
    const responses = out.RequestResponses ?? [];
    const failed = pending.filter((_, i) => responses[i]?.RecordId === undefined || responses[i]?.ErrorCode !== undefined);
    const codes = [...new Set(responses.flatMap((r) => (r.ErrorCode ? [r.ErrorCode] : [])))];
    io.log('WARN', 'PutRecordBatch: records not taken', { failed: failed.length, of: pending.length, error_codes: codes });
    return failed;
  });
}
