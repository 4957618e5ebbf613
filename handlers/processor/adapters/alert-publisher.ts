/** Alerts → EventBridge PutEvents, 10 entries per call, failed entries retried. */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ALERT_EVENT } from '../../../src/contract';
import type { AlertDetail } from '../core/alerts';
import { call, chunk, isRetryable, mapPool, waitForRetry, type CallCounter, type IoContext } from './io';

/** EventBridge PutEvents limit. */
export const MAX_PUT_EVENTS_ENTRIES = 10;

export interface PublishResult {
  /** alert_id → epoch ms it was accepted by EventBridge. */
  published: Map<string, number>;
  failed: AlertDetail[];
  retries: number;
}

export async function publishAlerts(
  client: EventBridgeClient,
  eventBusName: string,
  alerts: AlertDetail[],
  io: IoContext,
  counter: CallCounter,
  log: (message: string, detail: object) => void,
): Promise<PublishResult> {
  const published = new Map<string, number>();
  let retries = 0;
  const failed = await mapPool(chunk(alerts, MAX_PUT_EVENTS_ENTRIES), io.concurrency, async (batch) => {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        counter.add('PutEvents');
        const out = await call(io, (abortSignal) =>
          client.send(
            new PutEventsCommand({
              Entries: pending.map((alert) => ({
                EventBusName: eventBusName,
                Source: ALERT_EVENT.source,
                DetailType: ALERT_EVENT.detailType,
                Detail: JSON.stringify(alert),
                Resources: [],
                Time: new Date(alert.received_at),
              })),
            }),
            { abortSignal },
          ),
        );
        const entries = out.Entries ?? [];
        const acceptedAt = io.now();
        const left = pending.filter((alert, i) => {
          const ok = entries[i] !== undefined && !entries[i]!.ErrorCode;
          if (ok) published.set(alert.alert_id, acceptedAt);
          return !ok;
        });
        pending = left;
        if (pending.length === 0) return [];
      } catch (error) {
        if (!isRetryable(error)) {
          log('PutEvents failed, not retryable', { error: String(error), alerts: pending.length });
          return pending;
        }
      }
      retries++;
      if (!(await waitForRetry(io, attempt))) return pending;
    }
  });
  return { published, failed: failed.flat(), retries };
}
