/** Alerts → EventBridge PutEvents, 10 entries per call, failed entries retried. */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ALERT_EVENT } from '../../../contract';
import type { AlertDetail } from '../core/alerts';
import { errorDetail } from '../log';
import { sendInChunks } from './aws-calls';
import type { CallCounter, IoContext } from '../io';

/** EventBridge PutEvents limit. */
export const MAX_PUT_EVENTS_ENTRIES = 10;

export interface PublishResult {
  /** alert_id → epoch ms it was accepted by EventBridge. */
  published: Map<string, number>;
  failed: AlertDetail[];
  retries: number;
}

/**
 * Puts alerts on the bus, 10 per PutEvents, retrying failed entries until the deadline. Answers
 * when each published alert was accepted (for the alert latency) and which could not be sent.
 */
export async function publishAlerts(
  client: EventBridgeClient,
  eventBusName: string,
  alerts: AlertDetail[],
  io: IoContext,
  counter: CallCounter,
): Promise<PublishResult> {
  const published = new Map<string, number>();
  const result = await sendInChunks(
    io,
    'PutEvents',
    alerts,
    MAX_PUT_EVENTS_ENTRIES,
    async (pending, abortSignal) => {
      counter.add('PutEvents');
      const command = new PutEventsCommand({
        Entries: pending.map((alert) => ({
          EventBusName: eventBusName,
          Source: ALERT_EVENT.source,
          DetailType: ALERT_EVENT.detailType,
          Detail: JSON.stringify(alert),
          Time: new Date(alert.received_at),
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
          io.log('WARN', 'PutEvents unanswered: these alerts may be published twice', { alert_ids: pending.map((a) => a.alert_id), ...errorDetail(error) });
        }
        throw error;
      }
      const entries = out.Entries ?? [];
      const acceptedAt = io.now();
      const errors = entries.flatMap((e) => (e.ErrorCode ? [e.ErrorCode] : []));
      if (errors.length > 0) io.log('WARN', 'PutEvents rejected entries', { error_codes: [...new Set(errors)], entries: errors.length });
      return pending.filter((alert, i) => {
        const ok = entries[i] !== undefined && !entries[i]!.ErrorCode;
        if (ok) published.set(alert.alert_id, acceptedAt);
        return !ok;
      });
    },
  );
  return { published, ...result };
}
