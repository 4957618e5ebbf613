/**
 * Sensor health, declared once: the health table's attributes, the events the silent-sensor
 * detector publishes, its metrics and its environment (resource bindings with their grants, and
 * settings with their ranges). The template, the detector (handlers/processor/detector.ts) and the
 * tests read these.
 */
import { READINGS_TABLE } from './names';
import type { NumberSetting, ResourceBinding, TextSetting } from './env';

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
  readingsTableName: {
    env: 'TABLE_NAME',
    resource: 'ReadingsTable',
    value: 'Ref',
    grants: [
      // Which sensors reported in the last windows: keys of the zone index.
      { sid: 'FindReportingSensors', actions: ['dynamodb:Query'], index: READINGS_TABLE.zoneIndexName },
      // When a sensor that fell silent last reported: its newest rollup item.
      { sid: 'FindLastReading', actions: ['dynamodb:Query'] },
    ],
  },
  eventBusName: {
    env: 'EVENT_BUS_NAME',
    resource: 'AlertBus',
    value: 'Name',
    grants: [{ sid: 'PublishHealthEvents', actions: ['events:PutEvents'] }],
  },
} as const satisfies Record<string, ResourceBinding>;

/** The detector's settings. Ranges are those of the template parameters that feed them. */
export const DETECTOR_SETTINGS = {
  metricsNamespace: { env: 'METRICS_NAMESPACE', kind: 'text' },
  /** The zones: thing groups under this parent group (the provisioning layout's). */
  zoneParentGroup: { env: 'ZONE_PARENT_GROUP', kind: 'text' },
  /** A period is one rollup window. */
  rollupWindowSeconds: { env: 'ROLLUP_WINDOW_SECONDS', kind: 'number', min: 1, max: 3_600 },
  zoneIndexShards: { env: 'ZONE_INDEX_SHARDS', kind: 'number', min: 1, max: 100 },
  /** Silent: no reading in this many whole periods (plus the current one). */
  silentSensorPeriods: { env: 'SILENT_SENSOR_PERIODS', kind: 'number', min: 2, max: 1_440 },
  /** A sensor silent this many days is forgotten: no longer expected in its zone's share. */
  forgetSilentSensorDays: { env: 'FORGET_SILENT_SENSOR_DAYS', kind: 'number', min: 1, max: 365 },
} as const satisfies Record<string, NumberSetting | TextSetting>;

export type DetectorResource = keyof typeof DETECTOR_RESOURCES;
export type DetectorSetting = keyof typeof DETECTOR_SETTINGS;
