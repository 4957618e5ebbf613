import { readConfig } from './handlers/processor/config';
import { toInputRecords } from './handlers/processor/handler';
import { analyseBatch } from './handlers/processor/core/batch';
import { decodePayload, validateRecord } from './handlers/processor/core/validate';
import { isValidReadingFast } from './contract';
import { makeEvent, decodeFloorNs } from './scripts/lib/bench-batches';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const T: Record<string, number[]> = {};
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const time = (k: string, f: () => void) => { const t = cpu(); f(); (T[k] ??= []).push(cpu() - t); };
for (let i = 0; i < 60; i++) {
  const event = makeEvent(i);
  const recs = toInputRecords(event);
  time('floor', () => decodeFloorNs(event));
  time('toInput', () => toInputRecords(event));
  time('decode+parse', () => { for (const r of recs) { const p = decodePayload(r); try { JSON.parse((p as Buffer).toString('utf8')); } catch {} } });
  time('decode+parse+fast', () => { for (const r of recs) { const p = decodePayload(r); try { isValidReadingFast(JSON.parse((p as Buffer).toString('utf8'))); } catch {} } });
  time('validateRecord', () => { let k = 0; for (const r of recs) validateRecord(r, config, Date.now(), k++); });
  time('analyseBatch', () => analyseBatch(recs, { config, nowMs: Date.now() }));
}
for (const [k, v] of Object.entries(T)) console.log(k.padEnd(20), Math.round(v.slice(5).sort((a, b) => a - b)[5]! / 10000), 'ns/record');
