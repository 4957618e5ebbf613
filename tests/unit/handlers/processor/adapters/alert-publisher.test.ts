/** alert-publisher.ts: publishAlerts, PutEvents in calls of 10 with only the failed entries sent again. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { publishAlerts } from '../../../../../handlers/processor/adapters/alert-publisher';
import { CallCounter } from '../../../../../handlers/processor/io';
import type { AlertDetail } from '../../../../../handlers/processor/core/alerts';
import { fakeIo } from '../../../../helpers/fake-io';

const alert = (i: number): AlertDetail => ({
  alert_id: `a${i}`,
  level: 'WARNING',
  previous_level: 'NORMAL',
  sensor_id: `s${i}`,
  zone_id: 'z',
  congestion_index: 85,
  threshold: 80,
  reading_time: '2026-11-22T12:00:00.000Z',
  received_at: 1_700_000_000_000,
  detected_at: '2026-11-22T12:00:01.000Z',
});

describe('publishAlerts', () => {
  const events = mockClient(EventBridgeClient);
  beforeEach(() => events.reset());

  it('sends 10 entries per call and retries only the failed entries', async () => {
    events
      .on(PutEventsCommand)
      .callsFakeOnce((input) => ({
        FailedEntryCount: 1,
        Entries: input.Entries.map((_: unknown, i: number) => (i === 3 ? { ErrorCode: 'ThrottlingException' } : { EventId: `e${i}` })),
      }))
      .callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `r${i}` })) }));
    const counter = new CallCounter();
    const result = await publishAlerts(new EventBridgeClient({}), 'bus', Array.from({ length: 12 }, (_, i) => alert(i)), fakeIo().io, counter);
    expect(result.failed).toEqual([]);
    expect(result.published.size).toBe(12);
    expect(counter.counts.PutEvents).toBe(3);
    const calls = events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length);
    expect(calls.slice(0, 2).sort()).toEqual([10, 2]);
    expect(calls[2]).toBe(1);
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ EventBusName: 'bus', Source: 'tapstack.traffic', DetailType: 'Traffic Congestion Alert' });
    expect(JSON.parse(entry.Detail!).alert_id).toBe('a0');
  });

  it('gives back the alerts still failing when time runs out', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const result = await publishAlerts(new EventBridgeClient({}), 'bus', [alert(1)], fakeIo(1_000).io, new CallCounter());
    expect(result.failed.map((a) => a.alert_id)).toEqual(['a1']);
  });
});
