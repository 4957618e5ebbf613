import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Payloads } from '../../../../../handlers/processor/core/payloads';
import { decodeRecord, MAX_RECORD_BYTES } from '../../../../../handlers/processor/core/validate';
import { toInputRecords } from '../../../../../handlers/processor/handler';
import { kinesisEvent, reading } from '../../../../helpers/kinesis';

/** A rule record's data (base64 of its JSON) around a payload given as base64. */
const recordAround = (payloadBase64: string) => ({ data: Buffer.from(JSON.stringify({ payload: payloadBase64, received_at: 1 })).toString('base64') });

describe('Payloads', () => {
  it('holds each payload as Buffer.from(base64) decodes it, padded or not, whatever came before', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()), { minLength: 1, maxLength: 20 }), (payloads) => {
        const base64 = payloads.map(([bytes, padded]) => {
          const text = Buffer.from(bytes).toString('base64');
          return padded ? text : text.replace(/=+$/, '');
        });
        const store = new Payloads(base64.map(recordAround), MAX_RECORD_BYTES);
        base64.forEach((b, i) => expect(store.decode(i, b)).toBe(payloads[i]![0].length));
        base64.forEach((b, i) => {
          const expected = Buffer.from(b, 'base64');
          const copied = Buffer.alloc(store.length(i) + 2, 0xff);
          expect(store.copy(i, copied, 1)).toBe(expected.length);
          expect(copied.subarray(1, 1 + expected.length).equals(expected)).toBe(true);
          expect(copied[0]).toBe(0xff);
          expect(copied[copied.length - 1]).toBe(0xff);
          expect(store.text(i)).toBe(expected.toString('utf8'));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('has no payload for a record not decoded or dropped (its record quarantined)', () => {
    const base64 = ['eyJhIjoxfQ==', 'eyJiIjoyfQ=='];
    const store = new Payloads(base64.map(recordAround), MAX_RECORD_BYTES);
    store.decode(1, base64[1]!);
    expect([store.has(0), store.has(1)]).toEqual([false, true]);
    store.drop(1);
    expect(store.has(1)).toBe(false);
  });

  it('refuses a payload longer than the room its records made, rather than cutting it short', () => {
    const store = new Payloads([{ data: 'AAAA' }], MAX_RECORD_BYTES);
    expect(() => store.decode(0, Buffer.alloc(64).toString('base64'))).toThrow(RangeError);
  });

  it('makes no room for a record refused unread (over the size limit): validation never decodes its payload', () => {
    const store = new Payloads([{ data: 'A'.repeat(Math.ceil(((MAX_RECORD_BYTES + 10) * 4) / 3)) }], MAX_RECORD_BYTES);
    expect(() => store.decode(0, 'eyJhIjoxfQ==')).toThrow(RangeError);
  });

  it('takes every payload of a batch decoded by validation, each its record exactly', () => {
    const T = Date.now() - 10_000;
    const records = toInputRecords(kinesisEvent(Array.from({ length: 50 }, (_, i) => reading(i, T + i, { weather_condition: 'pluie légère' }))));
    const store = new Payloads(records, MAX_RECORD_BYTES);
    records.forEach((r, i) => expect(typeof decodeRecord(r, store, i)).toBe('object'));
    records.forEach((r, i) => {
      const envelope = JSON.parse(Buffer.from(r.data, 'base64').toString('utf8')) as { payload: string };
      expect(store.text(i)).toBe(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    });
  });
});
