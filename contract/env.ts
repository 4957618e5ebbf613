/**
 * The functions' environments, declared once. The processor's settings are here (its resource
 * bindings are its outputs', contract/outputs.ts); so are the settings of the silent-sensor
 * detector and of the console API, which name the processor's declaration of every variable they
 * share with it instead of restating it (their resource bindings, with their own grants, are in
 * contract/health.ts and contract/console.ts).
 * The template sets every variable (each function's environment block and role derive from here:
 * template/functions.ts), each function reads and checks them with one reader and the same ranges
 * (handlers/processor/function-env.ts), and the benchmark and tests take the template's own block.
 * A setting's range is the range of the template parameter that feeds it.
 */
import { PROCESSOR_RESOURCES } from './outputs';

/** Permission the processor needs on a resource it is bound to (a statement of its role). */
export interface Grant {
  /** Statement id in the processor role's policy. */
  sid: string;
  actions: readonly string[];
  /** A secondary index of the table, when the grant is on the index rather than the table. */
  index?: string;
}

/** An AWS resource the processor uses: the variable naming it, and what the processor may do with it. */
export interface ResourceBinding {
  env: string;
  /** Logical ID of the resource in the template (checked against the registry by the template tests). */
  resource: string;
  /** What the variable holds: the resource's `Ref` (table name, queue URL, topic ARN) or its `Name` attribute. */
  value: 'Ref' | 'Name';
  /**
   * How the template gets the resource's ARN for the grants: its `Arn` attribute (default), `Ref`
   * (an SNS topic), or built from its `Ref` (its name) as `arn:<partition>:<service>:<region>:<account>:<resourceType>/<name>`.
   */
  arn?: 'Arn' | 'Ref' | { service: string; resourceType: string };
  grants: readonly Grant[];
}

/** A number the processor is tuned with. */
export interface NumberSetting {
  env: string;
  kind: 'number';
  min: number;
  max: number;
  /** Values must be multiples of this (CloudFormation rules cannot compare numbers; see template/parameters.ts). */
  step?: number;
  /** Only whole numbers (the others accept any number within the range). */
  whole?: true;
  /**
   * The value the template sets when no parameter feeds the setting (template/parameters.ts `env:`):
   * a setting an operator does not tune is this one declaration, its use and its test.
   */
  value?: number;
}

export interface TextSetting {
  env: string;
  kind: 'text';
}

/** The processor's settings, in the order the template sets them (after the resources). */
export const PROCESSOR_SETTINGS = {
  /** `TapStack/<environment>`: where the processor's Embedded Metric Format metrics go. */
  metricsNamespace: { env: 'METRICS_NAMESPACE', kind: 'text' },
  /** WARNING above this congestion index. */
  warningThreshold: { env: 'WARNING_THRESHOLD', kind: 'number', min: 5, max: 100, step: 5 },
  /** CRITICAL above this congestion index; must be above the warning threshold. */
  criticalThreshold: { env: 'CRITICAL_THRESHOLD', kind: 'number', min: 5, max: 100, step: 5 },
  /** A level is left only when the index falls this many points below its threshold. */
  alertHysteresisPoints: { env: 'ALERT_HYSTERESIS_POINTS', kind: 'number', min: 0, max: 100, value: 5 },
  /** Minimum time between two alerts of one sensor into one level. */
  alertCooldownSeconds: { env: 'ALERT_COOLDOWN_SECONDS', kind: 'number', min: 0, max: 86_400 },
  /** Write shards of the zone index key. */
  zoneIndexShards: { env: 'ZONE_INDEX_SHARDS', kind: 'number', min: 1, max: 100 },
  /** Rollup items cover fixed windows of this many seconds of reading time. */
  rollupWindowSeconds: { env: 'ROLLUP_WINDOW_SECONDS', kind: 'number', min: 1, max: 3_600 },
  /** Rollup items expire (TTL) this many days after their window ends. */
  readingTtlDays: { env: 'READING_TTL_DAYS', kind: 'number', min: 1, max: 3_650 },
  /** Readings older than the stream retention are quarantined as stale. */
  streamRetentionHours: { env: 'STREAM_RETENTION_HOURS', kind: 'number', min: 24, max: 8_760 },
  /** Items the sensor-status table spreads the sensors over (a power of two, 1-256). */
  sensorStatusItems: { env: 'SENSOR_STATUS_ITEMS', kind: 'number', min: 1, max: 256 },
} as const satisfies Record<string, NumberSetting | TextSetting>;

/**
 * A binding of another function to a resource the processor is bound to: the processor's variable,
 * resource and ARN, with that function's own grants.
 */
export const sameResource = <const G extends readonly Grant[]>(binding: ResourceBinding, grants: G) => ({
  env: binding.env,
  resource: binding.resource,
  value: binding.value,
  ...(binding.arn === undefined ? {} : { arn: binding.arn }),
  grants,
});

/**
 * The silent-sensor detector's settings (handlers/detector/). Those it shares with the processor
 * are the processor's; the two of its own are also read by the console API.
 */
export const DETECTOR_SETTINGS = {
  metricsNamespace: PROCESSOR_SETTINGS.metricsNamespace,
  /** The zones: thing groups under this parent group (the provisioning layout's). */
  zoneParentGroup: { env: 'ZONE_PARENT_GROUP', kind: 'text' },
  /** A period is one rollup window. */
  rollupWindowSeconds: PROCESSOR_SETTINGS.rollupWindowSeconds,
  zoneIndexShards: PROCESSOR_SETTINGS.zoneIndexShards,
  /** Silent: no reading in this many whole periods (plus the current one). */
  silentSensorPeriods: { env: 'SILENT_SENSOR_PERIODS', kind: 'number', min: 2, max: 1_440, whole: true },
  /** A sensor silent this many days is forgotten: no longer expected in its zone's share. */
  forgetSilentSensorDays: { env: 'FORGET_SILENT_SENSOR_DAYS', kind: 'number', min: 1, max: 365, whole: true },
} as const satisfies Record<string, NumberSetting | TextSetting>;

/** The console API's settings (handlers/processor/console-api.ts): the processor's and the detector's, and the sensors' thing type. */
export const CONSOLE_SETTINGS = {
  /** `TapStack/<environment>`: the processor's per-zone metrics (a zone's trend). */
  metricsNamespace: PROCESSOR_SETTINGS.metricsNamespace,
  /** The sensors' thing type: their positions are its things' `location` attributes. */
  sensorThingType: { env: 'SENSOR_THING_TYPE', kind: 'text' },
  warningThreshold: PROCESSOR_SETTINGS.warningThreshold,
  criticalThreshold: PROCESSOR_SETTINGS.criticalThreshold,
  /** A silent sensor (as the detector decides): no reading for SilentSensorPeriods rollup windows. */
  rollupWindowSeconds: PROCESSOR_SETTINGS.rollupWindowSeconds,
  silentSensorPeriods: DETECTOR_SETTINGS.silentSensorPeriods,
  /** Sensors silent this long are no longer expected in their zone. */
  forgetSilentSensorDays: DETECTOR_SETTINGS.forgetSilentSensorDays,
} as const satisfies Record<string, NumberSetting | TextSetting>;

export type DetectorSetting = keyof typeof DETECTOR_SETTINGS;
export type ConsoleSetting = keyof typeof CONSOLE_SETTINGS;
/** A setting of any function, by key (a key names one variable whichever function reads it). */
export type FunctionSettingName = ProcessorSetting | DetectorSetting | ConsoleSetting;
export type ProcessorResource = keyof typeof PROCESSOR_RESOURCES;
export type ProcessorSetting = keyof typeof PROCESSOR_SETTINGS;
const ALL_SETTINGS = { ...PROCESSOR_SETTINGS, ...DETECTOR_SETTINGS, ...CONSOLE_SETTINGS };
/** The number settings of any function, by key: what a template parameter may feed. */
export type NumberSettingName = {
  [K in FunctionSettingName]: (typeof ALL_SETTINGS)[K]['kind'] extends 'number' ? K : never;
}[FunctionSettingName];
/** Every function's settings by key (a key shared by two functions is one declaration). */
export const FUNCTION_SETTINGS: { readonly [K in FunctionSettingName]: (typeof ALL_SETTINGS)[K] } = ALL_SETTINGS;

/** Every variable of the processor's environment, by name, in the template's order. */
export const PROCESSOR_ENV_NAMES: readonly string[] = [
  ...Object.values(PROCESSOR_RESOURCES).map((b) => b.env),
  ...Object.values(PROCESSOR_SETTINGS).map((s) => s.env),
];

/** Variable names by key (`ENV.readingsTableName` is `TABLE_NAME`), derived from the declarations above. */
export const ENV = Object.fromEntries(
  [...Object.entries(PROCESSOR_RESOURCES), ...Object.entries(PROCESSOR_SETTINGS)].map(([key, spec]) => [key, spec.env]),
) as { [K in ProcessorResource | ProcessorSetting]: K extends ProcessorResource ? (typeof PROCESSOR_RESOURCES)[K]['env'] : K extends ProcessorSetting ? (typeof PROCESSOR_SETTINGS)[K]['env'] : never };
