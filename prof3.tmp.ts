import { readConfig } from './handlers/processor/config';
import { toInputRecords } from './handlers/processor/handler';
import { readingsSink } from './handlers/processor/sinks/readings';
import { analyseBatch } from './handlers/processor/core/batch';
import { CallCounter, DEFAULT_IO, CallLatency } from './handlers/processor/adapters/aws-calls';
import { READINGS_TABLE } from './contract';
import { makeEvent } from './scripts/lib/bench-batches';
import { FakeAws } from './scripts/lib/fake-aws';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const aws = new FakeAws({ copy: false, tables: { readings: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false } } });
const sink = readingsSink(aws.client() as any, config);
const batches = Array.from({ length: 60 }, (_, i) => analyseBatch(toInputRecords(makeEvent(i)), { config, nowMs: Date.now() }));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const ts: number[] = [];
for (const batch of batches) {
  const io = { ...DEFAULT_IO, deadlineMs: Date.now() + 60_000, now: Date.now, sleep: async () => {}, random: Math.random, log: () => {}, latency: new CallLatency() };
  const t = cpu(); await sink(batch, { io, counter: new CallCounter(), now: Date.now }); ts.push(cpu() - t);
}
console.log('readings sink', Math.round(ts.slice(5).sort((a, b) => a - b)[5]! / 10000), 'ns/record (p10)');
