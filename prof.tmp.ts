import type { Context } from 'aws-lambda';
import { readConfig } from './handlers/processor/config';
import { processBatch } from './handlers/processor/handler';
import { createClients, processorSinks } from './handlers/processor/outputs';
import { ALERT_STATE_TABLE, READINGS_TABLE } from './contract';
import { makeEvent } from './scripts/lib/bench-batches';
import { startAwsStub } from './scripts/lib/aws-stub';
import { EXAMPLE_PHYSICAL_IDS, processorEnv } from './scripts/lib/processor-env';
const stub = await startAwsStub({ tables: { readings: { hash: READINGS_TABLE.partitionKey, range: READINGS_TABLE.sortKey, store: false }, 'alert-state': { hash: ALERT_STATE_TABLE.partitionKey, indexes: { [ALERT_STATE_TABLE.elevatedIndexName]: { hash: ALERT_STATE_TABLE.elevatedBucketAttribute, range: ALERT_STATE_TABLE.partitionKey } } } } });
Object.assign(process.env, { AWS_ENDPOINT_URL: stub.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'b', AWS_SECRET_ACCESS_KEY: 'b' });
const config = readConfig(processorEnv(EXAMPLE_PHYSICAL_IDS, {}));
const sinks = processorSinks(config, createClients());
const ctx = { getRemainingTimeInMillis: () => 60_000 } as Context;
for (let i = 0; i < 12; i++) { const c = process.cpuUsage(); await processBatch(makeEvent(i), ctx, { config, sinks, write: () => undefined }); const u = process.cpuUsage(c); console.log(i, ((u.user + u.system) / 1000).toFixed(0), 'ms'); }
await stub.stop();
