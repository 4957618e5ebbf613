import { readConfig } from './handlers/processor/config';
import { processBatch } from './handlers/processor/handler';
import { processorSinks, type Clients } from './handlers/processor/outputs';
import { ALERT_STATE_TABLE, READINGS_TABLE } from './contract';
import { makeEvent } from './scripts/lib/bench-batches';
import { FakeAws } from './scripts/lib/fake-aws';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const aws = new FakeAws({ copy: false, tables: { readings: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false }, 'alert-state': { hash: ALERT_STATE_TABLE.partitionKey, indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } } } } });
const c = aws.client();
const sinks = processorSinks(config, { dynamodb: c, eventbridge: c, sqs: c, firehose: c } as unknown as Clients);
const events = Array.from({ length: 30 }, (_, i) => makeEvent(i));
for (let i = 0; i < 30; i++) { const t = process.hrtime.bigint(); await processBatch(events[i]!, { getRemainingTimeInMillis: () => 60_000 }, { config, sinks, write: () => undefined }); console.log(i, Number(process.hrtime.bigint() - t) / 1e6); }
