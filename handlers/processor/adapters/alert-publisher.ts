/** Alerts → the alert bus, through the one EventBridge publisher (events.ts). */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ALERT_EVENT } from '../../../contract';
import type { AlertDetail } from '../core/alerts';
import type { CallCounter, IoContext } from '../io';
import { publishEvents, type EventKind, type PublishResult as EventsResult } from './events';

export type PublishResult = EventsResult<AlertDetail>;

const ALERTS: EventKind<AlertDetail> = {
  noun: 'alerts',
  idsField: 'alert_ids',
  id: (alert) => alert.alert_id,
  source: ALERT_EVENT.source,
  detailType: () => ALERT_EVENT.detailType,
  time: (alert) => new Date(alert.received_at),
};

/**
 * Puts alerts on the bus, 10 per PutEvents, retrying failed entries until the deadline. Answers
 * when each published alert was accepted (for the alert latency) and which could not be sent.
 */
export const publishAlerts = (client: EventBridgeClient, eventBusName: string, alerts: AlertDetail[], io: IoContext, counter: CallCounter): Promise<PublishResult> =>
  publishEvents(client, eventBusName, ALERTS, alerts, io, counter);
