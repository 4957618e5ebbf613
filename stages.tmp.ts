import { readConfig } from './handlers/processor/config';
import { processBatch, toInputRecords } from './handlers/processor/handler';
import { processorSinks, type Clients } from './handlers/processor/outputs';
import { analyseBatch } from './handlers/processor/core/batch';
import { CallCounter, DEFAULT_IO, CallLatency } from './handlers/processor/adapters/aws-calls';
import { ALERT_STATE_TABLE, READINGS_TABLE } from './contract';
import { makeEvent, decodeFloorNs } from './scripts/lib/bench-batches';
import { FakeAws } from './scripts/lib/fake-aws';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const aws = new FakeAws({ copy: false, tables: { readings: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false }, 'alert-state': { hash: ALERT_STATE_TABLE.partitionKey, indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } } } } });
const c = aws.client();
const sinks = processorSinks(config, { dynamodb: c, eventbridge: c, sqs: c, firehose: c } as unknown as Clients);
const names = ['readings', 'quarantine', 'alerts', 'raw'];
const times: Record<string, number[]> = { floor: [], analyse: [], total: [], readings: [], quarantine: [], alerts: [], raw: [] };
for (let i = 0; i < 40; i++) {
  const event = makeEvent(i);
  times.floor!.push(decodeFloorNs(event));
  let t = process.hrtime.bigint();
  const batch = analyseBatch(toInputRecords(event), { config, nowMs: Date.now() });
  times.analyse!.push(Number(process.hrtime.bigint() - t));
  const io = { ...DEFAULT_IO, deadlineMs: Date.now() + 60_000, now: Date.now, sleep: async () => {}, random: Math.random, log: () => {}, latency: new CallLatency() };
  for (let k = 0; k < sinks.length; k++) {
    t = process.hrtime.bigint();
    await sinks[k]!(batch, { io, counter: new CallCounter(), now: Date.now });
    times[names[k]!]!.push(Number(process.hrtime.bigint() - t));
  }
}
for (const [k, v] of Object.entries(times)) if (v.length) console.log(k.padEnd(12), Math.round(Math.min(...v.slice(5)) / 10000), 'ns/record');
