/** events.ts: the one EventBridge publisher; the health events go out through it as the alerts do. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SENSOR_HEALTH_EVENT } from '../../../../../contract';
import { publishHealthEvents } from '../../../../../handlers/processor/adapters/health-store';
import type { HealthEvent } from '../../../../../handlers/processor/core/health';
import { CallCounter } from '../../../../../handlers/processor/io';
import { fakeIo } from '../../../../helpers/fake-io';

describe('one EventBridge publisher (health events go out as the alerts do)', () => {
  const eb = mockClient(EventBridgeClient);
  beforeEach(() => eb.reset());
  const event = (i: number): HealthEvent =>
    ({ event_id: `e-${i}`, sensor_id: `s-${i}`, state: 'SILENT', detected_at: '2026-05-01T12:00:00.000Z' }) as unknown as HealthEvent;

  it('puts 10 per call, answers what EventBridge did not take, and logs the ids of an unanswered call', async () => {
    let call = 0;
    eb.on(PutEventsCommand).callsFake((input) => {
      call++;
      if (call === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return { Entries: input.Entries.map((_: unknown, i: number) => (i === 0 && call === 2 ? { ErrorCode: 'InternalFailure' } : { EventId: 'x' })) };
    });
    const logs: { message: string; detail?: Record<string, unknown> }[] = [];
    const { io } = fakeIo(10_000, { log: (_level, message, detail) => logs.push({ message, detail: detail as Record<string, unknown> }) });
    const events = Array.from({ length: 12 }, (_, i) => event(i));
    const failed = await publishHealthEvents(new EventBridgeClient({}), 'bus', events, { ...io, concurrency: 1 }, new CallCounter());
    expect(failed).toEqual([]);
    const first = eb.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(first).toHaveLength(10);
    expect(first[0]).toMatchObject({ EventBusName: 'bus', Source: SENSOR_HEALTH_EVENT.source, DetailType: SENSOR_HEALTH_EVENT.silent, Time: new Date('2026-05-01T12:00:00.000Z') });
    expect(logs.find((l) => l.message === 'PutEvents unanswered: these health events may be published twice')!.detail!.event_ids).toEqual(events.slice(0, 10).map((e) => e.event_id));
  });
});
