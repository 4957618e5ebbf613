/**
 * The one EventBridge publisher: events → PutEvents, 10 entries per call, the entries EventBridge
 * did not take retried until the deadline. The alerts (alert-publisher.ts) and the detector's
 * health events (health-store.ts) go out through it.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { CallCounter, IoContext } from '../io';
import { errorDetail } from '../log';
import { sendInChunks } from './aws-calls';

/** EventBridge PutEvents limit: 10 entries per call. */
export const MAX_PUT_EVENTS_ENTRIES = 10;

/** How one kind of event goes on the bus. */
export interface EventKind<T> {
  /** What the logs call these events ("alerts"), and the log field of their ids ("alert_ids"). */
  noun: string;
  idsField: string;
  id: (event: T) => string;
  source: string;
  detailType: (event: T) => string;
  /** The event's time on the bus. */
  time: (event: T) => Date;
}

export interface PublishResult<T> {
  /** id → epoch ms it was accepted by EventBridge. */
  published: Map<string, number>;
  failed: T[];
  retries: number;
}

/**
 * Puts events on the bus, 10 per PutEvents, retrying failed entries until the deadline. Answers
 * when each published event was accepted and which could not be sent. A call left unanswered (a
 * timeout, a dropped connection) may have been taken: its events' ids are logged, since the retry
 * may publish them twice (EventBridge has no idempotency key).
 */
export async function publishEvents<T>(
  client: Pick<EventBridgeClient, 'send'>,
  eventBusName: string,
  kind: EventKind<T>,
  events: T[],
  io: IoContext,
  counter: CallCounter,
): Promise<PublishResult<T>> {
  const published = new Map<string, number>();
  const result = await sendInChunks(io, 'PutEvents', events, MAX_PUT_EVENTS_ENTRIES, async (pending, abortSignal) => {
    counter.add('PutEvents');
    const command = new PutEventsCommand({
      Entries: pending.map((event) => ({
        EventBusName: eventBusName,
        Source: kind.source,
        DetailType: kind.detailType(event),
        Detail: JSON.stringify(event),
        Time: kind.time(event),
      })),
    });
    let out;
    try {
      out = await client.send(command, { abortSignal });
    } catch (error) {
      // No answer (a timeout, a dropped connection): EventBridge may have taken the events, and
      // the retry then publishes them twice (the delivery contract's first limit). A refusal it
      // answered (4xx: throttled, invalid) took none.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (!(status !== undefined && status >= 400 && status < 500)) {
        io.log('WARN', `PutEvents unanswered: these ${kind.noun} may be published twice`, { [kind.idsField]: pending.map(kind.id), ...errorDetail(error) });
      }
      throw error;
    }
    const entries = out.Entries ?? [];
    const acceptedAt = io.now();
    const errors = entries.flatMap((e) => (e.ErrorCode ? [e.ErrorCode] : []));
    if (errors.length > 0) io.log('WARN', 'PutEvents rejected entries', { error_codes: [...new Set(errors)], entries: errors.length });
    return pending.filter((event, i) => {
      const ok = entries[i] !== undefined && !entries[i]!.ErrorCode;
      if (ok) published.set(kind.id(event), acceptedAt);
      return !ok;
    });
  });
  return { published, ...result };
}
