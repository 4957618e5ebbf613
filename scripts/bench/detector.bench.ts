/**
 * npx tsx scripts/bench/detector.bench.ts [--sensors 50000] [--zones 100] [--latency-ms 10]
 * One silent-sensor detector run at city scale, against DynamoDB, EventBridge and IoT answered in
 * memory with a fixed latency per call (the pages DynamoDB would return: 1 MB per Scan or Query
 * page). Prints the calls, the items and keys read, the read units they cost, the wall time and the
 * heap: what sizes the detector's Lambda (memory, timeout) and its bill.
 */
import { HEALTH_TABLE, READINGS_TABLE } from '../../contract';
import { zoneShard } from '../../handlers/processor/core/hash';
import { HEALTH_SCAN_SEGMENTS } from '../../handlers/processor/adapters/health-store';
import { readDetectorConfig, runDetector } from '../../handlers/detector/detector';
import { detectorEnv } from '../lib/processor-env';
import { numberFlag, scriptFlags } from '../cli';

const values = scriptFlags('bench-health', {
  sensors: { type: 'string', help: 'sensors, default 50000' },
  zones: { type: 'string', help: 'zones, default 100' },
  'latency-ms': { type: 'string', help: 'latency of every call, ms, default 10' },
}, 'One silent-sensor detector run at city scale against AWS answered in memory.');
const sensors = numberFlag('bench-health', 'sensors', values.sensors, 50_000, { min: 1, integer: true });
const zoneCount = numberFlag('bench-health', 'zones', values.zones, 100, { min: 1, integer: true });
const latencyMs = numberFlag('bench-health', 'latency-ms', values['latency-ms'], 10);
const config = readDetectorConfig(detectorEnv());
const WINDOW_MS = config.rollupWindowSeconds * 1000;
const NOW = Date.parse('2026-12-01T08:00:30.000Z');
/** DynamoDB returns at most 1 MB per Scan or Query page. */
const PAGE_BYTES = 1_048_576;
/** Bytes of a health item and of a zone-index key item, as DynamoDB sizes them (names + values). */
const HEALTH_ITEM_BYTES = 110;
const INDEX_KEY_BYTES = 75;

const zones = Array.from({ length: zoneCount }, (_, i) => `zone-${String(i).padStart(3, '0')}`);
const ids = Array.from({ length: sensors }, (_, i) => `sensor-${String(i).padStart(6, '0')}`);
const zoneOf = (i: number) => zones[i % zoneCount]!;
// Steady state: every sensor known and REPORTING; one in a thousand stopped 10 minutes ago.
const stopped = new Set(ids.filter((_, i) => i % 1000 === 7));
const healthItems = ids.map((id, i) => ({
  [HEALTH_TABLE.partitionKey]: { S: id },
  [HEALTH_TABLE.zone]: { S: zoneOf(i) },
  [HEALTH_TABLE.state]: { S: 'REPORTING' },
  [HEALTH_TABLE.version]: { N: '1' },
  [HEALTH_TABLE.changedAt]: { N: String(NOW - 86_400_000) },
}));
const partitions = new Map<string, Record<string, { S: string }>[]>();
const firstWindow = Math.floor(NOW / WINDOW_MS) - config.silentSensorPeriods;
ids.forEach((id, i) => {
  if (stopped.has(id)) return;
  const key = zoneShard(zoneOf(i), id, config.zoneIndexShards);
  const list = partitions.get(key) ?? [];
  for (let w = firstWindow; w <= Math.floor(NOW / WINDOW_MS); w++) {
    list.push({ [READINGS_TABLE.partitionKey]: { S: id }, [READINGS_TABLE.sortKey]: { S: new Date(w * WINDOW_MS).toISOString() } });
  }
  partitions.set(key, list);
});

const calls: Record<string, number> = {};
let readUnits = 0;
let itemsRead = 0;
const page = <T>(items: T[], itemBytes: number, start: number) => {
  const perPage = Math.floor(PAGE_BYTES / itemBytes);
  const slice = items.slice(start, start + perPage);
  readUnits += Math.ceil((slice.length * itemBytes) / 4096) * 0.5; // eventually consistent
  itemsRead += slice.length;
  return { Items: slice, ...(start + perPage < items.length ? { LastEvaluatedKey: { at: { N: String(start + perPage) } } } : {}) };
};
const client = {
  send: async (command: { constructor: { name: string }; input: any }) => {
    const name = command.constructor.name.replace(/Command$/, '');
    calls[name] = (calls[name] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, latencyMs));
    const input = command.input;
    const start = Number(input.ExclusiveStartKey?.at?.N ?? 0);
    switch (name) {
      case 'Scan': {
        const per = Math.ceil(healthItems.length / HEALTH_SCAN_SEGMENTS);
        return page(healthItems.slice(input.Segment * per, (input.Segment + 1) * per), HEALTH_ITEM_BYTES, start);
      }
      case 'Query':
        if (input.IndexName) return page(partitions.get(input.ExpressionAttributeValues[':zs'].S) ?? [], INDEX_KEY_BYTES, start);
        readUnits += 0.5;
        return { Items: [{ [READINGS_TABLE.lastReadingAttribute]: { S: new Date(NOW - 10 * 60_000).toISOString() } }] };
      case 'ListThingGroups':
        return { thingGroups: zones.map((groupName) => ({ groupName })) };
      case 'PutEvents':
        return { Entries: input.Entries.map(() => ({ EventId: 'e' })) };
      default:
        return {};
    }
  },
};

const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
const outcome = await runDetector({ config, clients: { dynamodb: client, eventbridge: client, iot: client } as never, now: () => NOW, write: () => undefined }, 50_000);
const wallMs = performance.now() - started;
console.log(
  JSON.stringify(
    {
      sensors,
      zones: zoneCount,
      latencyMsPerCall: latencyMs,
      wallMs: Math.round(wallMs),
      heapGrowthMb: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1_048_576),
      rssMb: Math.round(process.memoryUsage().rss / 1_048_576),
      calls,
      itemsAndKeysRead: itemsRead,
      readRequestUnits: readUnits,
      silenced: outcome.silenced,
      eventsPublished: outcome.eventsPublished,
    },
    null,
    2,
  ),
);
