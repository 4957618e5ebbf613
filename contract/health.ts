/**
 * Sensor health, declared once: the health table's attributes, the events the silent-sensor
 * detector publishes, its metrics and its resource bindings with their grants (its settings are
 * with the processor's, in contract/env.ts). The template, the detector (handlers/detector/) and
 * the tests read these.
 */
import { READINGS_TABLE } from './names';
import { sameResource, type ResourceBinding } from './env';
import { PROCESSOR_RESOURCES } from './outputs';

/**
 * One item per sensor the detector has seen report since the stack was deployed: its zone, its
 * state, and the event of its last transition until that event is published (an outbox, as the
 * alert state has). Sensors that never reported are not in it, so they are never reported silent.
 */
export const HEALTH_TABLE = {
  partitionKey: 'sensor_id',
  zone: 'zone_id',
  state: 'health_state',
  /** Incremented by every change of state: transitions are writes conditioned on it. */
  version: 'version',
  /** Epoch ms of the last transition (or of the first sighting). */
  changedAt: 'changed_at',
  /** The newest reading stored for the sensor when it fell silent (ISO-8601), from the readings table. */
  lastSeenAt: 'last_seen_at',
  /** The event of the last transition, JSON, until it is published. */
  pendingEvent: 'pending_event',
  /** Which detector run publishes the pending event, and until when (epoch ms) that claim holds. */
  claimedBy: 'claimed_by',
  claimUntil: 'claim_until',
  /** TTL (epoch seconds): a sensor silent this long is forgotten (decommissioned), and no longer expected. */
  ttl: 'expires_at',
} as const;

export const HEALTH_STATES = ['REPORTING', 'SILENT'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** The events on the alert bus: one per silence, one per recovery. */
export const SENSOR_HEALTH_EVENT = {
  source: 'tapstack.health',
  silent: 'Sensor Silent',
  recovered: 'Sensor Recovered',
} as const;

/** Metrics the detector emits (EMF) and the template alarms on. */
export const HEALTH_METRIC = {
  /** Per zone (dimension ZoneId): expected sensors that reported in the last SilentSensorPeriods windows. */
  sensorsReporting: 'SensorsReporting',
  /** Per zone: sensors expected to report (seen since deploy, not forgotten). */
  sensorsExpected: 'SensorsExpected',
  /** Service dimension: the lowest ReportingSharePercent of any zone (what the alarm watches). */
  lowestZoneReportingSharePercent: 'LowestZoneReportingSharePercent',
  sensorsSilent: 'SensorsSilent',
  /** Silences not declared because most of the fleet looked silent at once (a pipeline outage). */
  silencesHeld: 'SilencesHeld',
  healthEventsPublished: 'SensorHealthEventsPublished',
} as const;

/** The Service dimension of the detector's own metrics. */
export const DETECTOR_SERVICE_NAME = 'detector';

/** The resources the detector reads and writes. */
export const DETECTOR_RESOURCES = {
  healthTableName: {
    env: 'HEALTH_TABLE_NAME',
    resource: 'SensorHealthTable',
    value: 'Ref',
    grants: [{ sid: 'ReadAndWriteSensorHealth', actions: ['dynamodb:Scan', 'dynamodb:UpdateItem'] }],
  },
  readingsTableName: sameResource(PROCESSOR_RESOURCES.readingsTableName, [
    // Which sensors reported in the last windows: keys of the zone index.
    { sid: 'FindReportingSensors', actions: ['dynamodb:Query'], index: READINGS_TABLE.zoneIndexName },
    // When a sensor that fell silent last reported: its newest rollup item.
    { sid: 'FindLastReading', actions: ['dynamodb:Query'] },
  ]),
  eventBusName: sameResource(PROCESSOR_RESOURCES.eventBusName, [{ sid: 'PublishHealthEvents', actions: ['events:PutEvents'] }]),
} as const satisfies Record<string, ResourceBinding>;
export type DetectorResource = keyof typeof DETECTOR_RESOURCES;
