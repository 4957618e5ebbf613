/**
 * What the IoT topic rule makes of a sensor's message, for everything that plays the rule's part
 * (the simulator's broker, the tests, the bench): the Kinesis record's data (RULE_RECORD: the
 * payload as published, the receive time, the propagated zones) and its partition key (the thing).
 */
import { ruleRecord } from '../../contract';

/** One message as IoT Core sees it: the bytes the sensor published, and what IoT established about it. */
export interface SensorMessage {
  /** What the sensor published: an object is sent as its JSON, a string as it is. */
  sent: string | object;
  /** The connecting thing: the topic level the policy pins, the record's partition key. */
  thing: string;
  /** The rule's `timestamp()`; none for a record the rule did not stamp. */
  receivedAt?: number;
  /** Every `tapstack:zone` user property of the message (the thing type's one, and any the device added). */
  registryZones?: readonly string[];
}

/** The rule's record of a message: its data (JSON of RULE_RECORD) and partition key. */
export function ruleRecordOf(message: SensorMessage): { data: Buffer; partitionKey: string } {
  const sent = typeof message.sent === 'string' ? message.sent : JSON.stringify(message.sent);
  return { data: Buffer.from(ruleRecord(sent, message.receivedAt, message.registryZones)), partitionKey: message.thing };
}

/**
 * A well-behaved sensor's reading as the tests and the bench write it: the sensor's fields, plus the
 * facts IoT Core establishes under the names earlier versions of the rule gave them (`received_at`,
 * `thing_name`, `registry_zone`), which are lifted out of the payload into the record. The thing
 * defaults to the sensor id, the registry zone to the reading's zone.
 */
export function readingRecord(reading: Record<string, unknown>): { data: Buffer; partitionKey: string } {
  const { received_at, thing_name, registry_zone, ...sent } = reading;
  const zone = registry_zone !== undefined ? registry_zone : sent.zone_id;
  return ruleRecordOf({
    sent,
    thing: String(thing_name ?? sent.sensor_id ?? 'unknown'),
    receivedAt: received_at as number | undefined,
    registryZones: zone === undefined ? undefined : [zone as string],
  });
}
