import { readConfig } from './handlers/processor/config';
import { toInputRecords } from './handlers/processor/handler';
import { analyseBatch } from './handlers/processor/core/batch';
import { makeEvent, decodeFloorNs } from './scripts/lib/bench-batches';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const events = Array.from({ length: 8 }, (_, i) => makeEvent(i));
const recs = events.map(toInputRecords);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const A: number[] = [], F: number[] = [];
for (let k = 0; k < 120; k++) {
  const i = k % 8;
  let t = cpu(); decodeFloorNs(events[i]!); F.push(cpu() - t);
  t = cpu(); analyseBatch(recs[i]!, { config, nowMs: Date.now() }); A.push(cpu() - t);
}
const p10 = (v: number[]) => Math.round(v.slice(10).sort((a, b) => a - b)[10]! / 10000);
console.log('floor', p10(F), 'analyse', p10(A));
