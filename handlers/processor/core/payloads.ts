import type { RawReading } from '../../../contract';
import { scanPayload } from './scan-payload';

/**
 * The payloads of a batch's records (what the sensors published), decoded from base64 once into one
 * buffer: validation parses them from it and the raw-data lake copies them from it. One buffer
 * rather than a Buffer object per record, which the batch would keep alive until every sink is
 * done (a young-generation object per reading, copied by every collection the batch lives through).
 */
export class Payloads {
  private readonly bytes: Buffer;
  /** Record i's payload: bytes [starts[i], ends[i]); starts[i] -1: none (not decoded, or dropped). */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private used = 0;

  /**
   * Room for the payloads of `records`: a payload's base64 is part of its record, so the payload
   * decoded (at most 3/4 of its base64, rounded up) is never longer than the record decoded (3/4 of
   * the record's base64, rounded up); a record of more than `maxRecordBytes` (3/4 of its base64,
   * rounded down: validation's test) is refused unread, so it gets no room.
   */
  constructor(records: readonly { data: string }[], maxRecordBytes: number) {
    let capacity = 0;
    // Indexed, not for…of: this runs once a batch, often before it is optimised, where each step of
    // an iterator is an object.
    for (let i = 0; i < records.length; i++) {
      const chars = records[i]!.data.length;
      if (Math.floor((chars * 3) / 4) <= maxRecordBytes) capacity += Math.ceil((chars * 3) / 4);
    }
    this.bytes = Buffer.allocUnsafe(capacity);
    this.starts = new Int32Array(records.length).fill(-1);
    this.ends = new Int32Array(records.length);
  }

  /** Decodes `base64` (leniently, as Buffer.from does) as record `index`'s payload; answers its length in bytes. */
  decode(index: number, base64: string): number {
    const start = this.used;
    // Buffer.write stops silently at the end of the buffer: never reached, by the constructor's
    // room, but checked (with the decoded length's bound) rather than trusted.
    if (start + Math.ceil((base64.length * 3) / 4) > this.bytes.length) throw new RangeError('a payload longer than the room its record made');
    const length = this.bytes.write(base64, start, 'base64');
    this.starts[index] = start;
    this.ends[index] = start + length;
    this.used = start + length;
    return length;
  }

  /** Whether record `index` has a payload (decoded and not dropped). */
  has(index: number): boolean {
    return this.starts[index]! >= 0;
  }

  /**
   * Forgets record `index`'s payload (its record is quarantined: the lake does not take it; or it is
   * decoded again). The room of the payload decoded last is taken back, so that decoding a record's
   * payload again never needs more room than the constructor made.
   */
  drop(index: number): void {
    const start = this.starts[index]!;
    if (start >= 0 && this.ends[index] === this.used) this.used = start;
    this.starts[index] = -1;
  }

  /** The length in bytes of record `index`'s payload. */
  length(index: number): number {
    return this.ends[index]! - this.starts[index]!;
  }

  /** Record `index`'s payload read by core/scan-payload.ts from its bytes (undefined: not in the scanned form). */
  scan(index: number, sensorId: string, zoneId: string | undefined): RawReading | undefined {
    return scanPayload(this.bytes, this.starts[index]!, this.ends[index]!, sensorId, zoneId);
  }

  /** Record `index`'s payload as UTF-8 text. */
  text(index: number): string {
    return this.bytes.toString('utf8', this.starts[index], this.ends[index]);
  }

  /** Copies record `index`'s payload into `target` at `at`; answers the bytes copied. */
  copy(index: number, target: Buffer, at: number): number {
    return this.bytes.copy(target, at, this.starts[index], this.ends[index]);
  }
}
