/**
 * The processor's outputs, declared once, as data (no SDK, no template code): per output, what it
 * is (the deploy guide's line), the resources it is bound to (variable, resource, grants), the
 * resource it creates when that resource is simple and its own (an encrypted queue or topic, with
 * its TLS-only policy and its stack output), and where its charges are in the plan.
 *
 * Derived from it: PROCESSOR_RESOURCES (below: the processor's environment block and role
 * statements, template/functions.ts, and its config, handlers/processor/config.ts); the logical IDs of
 * the resources outputs create (OWN_RESOURCE_IDS, in the registry template/names.ts); those resources
 * and their stack outputs (template/output-resources.ts, in the processing layer); OUTPUT_COSTS
 * (template/capacity); the deploy guide's table of outputs (`npm run docs`). The sink side, its clients
 * and how its sink is built, is handlers/processor/outputs.ts, keyed by the same names (tsc asks
 * for both). tests/template/outputs.test.ts checks every declared resource is created, set in the
 * environment, granted, costed and documented.
 */
import type { Grant, ResourceBinding } from './env';
import { ALERT_STATE_TABLE } from './names';

/** A stack output of a resource an output creates: its `Ref`, exported as `<stack name>-<key>`. */
export interface OwnStackOutput {
  key: string;
  description: string;
}

/**
 * A resource an output creates (template/output-resources.ts builds it with the template/defaults.ts helper
 * of its kind: encrypted with the stack key, with its policy denying every call without TLS),
 * under the binding's logical ID, with `<id>Policy` for its policy.
 */
export type OwnResource =
  | { kind: 'queue'; name: string; fifo?: boolean; stackOutput: OwnStackOutput }
  | { kind: 'topic'; name: string; displayName: string; stackOutput: OwnStackOutput };

/** A binding of the processor, and the resource it creates if that resource is the output's own. */
export interface OutputBinding extends ResourceBinding {
  creates?: OwnResource;
}

/** One processor output. */
export interface OutputDeclaration {
  /** What the processor writes there, for the deploy guide's table (one line). */
  description: string;
  /** The resources it is bound to that no earlier output declares, in the template's order. */
  bindings: Record<string, OutputBinding>;
  /** Bindings of earlier outputs it also uses (tests/template/outputs.test.ts checks they exist). */
  uses?: readonly string[];
  /** Where its AWS charges are in the plan: the cost line whose service starts with `line`, or why it has none. */
  cost: { line: string } | { none: string };
}

/** A queue of the output's own: the variable holds its URL (`Ref`), the grants are on its `Arn`. */
export const ownQueue = <const E extends string, const R extends string, const G extends readonly Grant[]>(spec: {
  env: E;
  resource: R;
  grants: G;
  queue: Omit<Extract<OwnResource, { kind: 'queue' }>, 'kind'>;
}) => ({ env: spec.env, resource: spec.resource, value: 'Ref' as const, grants: spec.grants, creates: { kind: 'queue' as const, ...spec.queue } });

/** A topic of the output's own: the variable holds its ARN (its `Ref`), and the grants are on it. */
export const ownTopic = <const E extends string, const R extends string, const G extends readonly Grant[]>(spec: {
  env: E;
  resource: R;
  grants: G;
  topic: Omit<Extract<OwnResource, { kind: 'topic' }>, 'kind'>;
}) => ({
  env: spec.env,
  resource: spec.resource,
  value: 'Ref' as const,
  arn: 'Ref' as const,
  grants: spec.grants,
  creates: { kind: 'topic' as const, ...spec.topic },
});

/**
 * The outputs every batch goes to, all at once, in this order; their bindings in this order are
 * the processor's environment block and role statements.
 */
export const PROCESSOR_OUTPUTS = {
  readings: {
    description: 'per-sensor rollups: one item per sensor and rollup window, merged by conditional writes',
    bindings: {
      readingsTableName: {
        env: 'TABLE_NAME',
        resource: 'ReadingsTable',
        value: 'Ref',
        grants: [
          // Window items: conditional puts, 100 per TransactWriteItems, which needs the underlying action
          // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html);
          // a failed condition answers the stored item, so nothing is read first.
          { sid: 'WriteReadings', actions: ['dynamodb:PutItem'] },
          // The newest stored reading of a sensor whose readings arrive late (the stale-alert guard).
          { sid: 'FindLatestReading', actions: ['dynamodb:Query'] },
        ],
      },
    },
    cost: { line: 'DynamoDB' },
  },
  alerts: {
    description: 'alert level per sensor, and an event on the alert bus for each congestion level transition',
    bindings: {
      alertStateTableName: {
        env: 'ALERT_STATE_TABLE_NAME',
        resource: 'AlertStateTable',
        value: 'Ref',
        grants: [
          // Conditional updates of the processor's attributes of the state (handlers/processor/adapters/alert-store.ts
          // stateWrite: an Update, so that a controller's acknowledgement on the same item stands), in
          // TransactWriteItems, whose Update needs the underlying dynamodb:UpdateItem
          // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
          { sid: 'ReadAndWriteAlertState', actions: ['dynamodb:BatchGetItem', 'dynamodb:UpdateItem'] },
          { sid: 'FindElevatedSensors', actions: ['dynamodb:Query', 'dynamodb:Scan'], index: ALERT_STATE_TABLE.elevatedIndexName },
        ],
      },
      eventBusName: {
        env: 'EVENT_BUS_NAME',
        resource: 'AlertBus',
        value: 'Name',
        grants: [{ sid: 'PublishAlerts', actions: ['events:PutEvents'] }],
      },
    },
    // The readings table: for replayed readings, the newest reading already stored.
    uses: ['readingsTableName'],
    cost: { line: 'EventBridge + SNS' },
  },
  quarantine: {
    description: 'readings that failed validation, each with its reason and original payload (FIFO: once per record)',
    bindings: {
      // FIFO: a record delivered again is quarantined once (deduplicated by its shard and sequence number).
      quarantineQueueUrl: ownQueue({
        env: 'QUARANTINE_QUEUE_URL',
        resource: 'QuarantineQueue',
        grants: [{ sid: 'QuarantineAndDeadLetter', actions: ['sqs:SendMessage'] }],
        queue: {
          name: 'quarantine',
          fifo: true,
          stackOutput: { key: 'QuarantineQueueUrl', description: 'Readings that failed validation, with their reason' },
        },
      }),
    },
    // Only readings that fail validation: a few SQS requests a day, under a cent a month.
    cost: { none: 'only readings that fail validation (a few SQS requests a day)' },
  },
  rawData: {
    description: 'the raw-data lake: each batch\'s valid readings, a few large records per PutRecordBatch (Direct PUT)',
    bindings: {
      /** https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html */
      deliveryStreamName: {
        env: 'DELIVERY_STREAM_NAME',
        resource: 'DeliveryStream',
        value: 'Ref',
        // The same ARN as its Arn attribute (https://docs.aws.amazon.com/IAM/latest/UserGuide/list_amazonkinesisfirehose.html,
        // resource type deliverystream), built from its name so that moto's CreateStack, which skips
        // delivery streams, can still resolve the processor's role.
        arn: { service: 'firehose', resourceType: 'deliverystream' },
        grants: [{ sid: 'DeliverRawReadings', actions: ['firehose:PutRecordBatch'] }],
      },
    },
    cost: { line: 'Firehose' },
  },
  status: {
    description: "each sensor's latest reading, for the traffic controllers' console",
    bindings: {
      sensorStatusTableName: {
        env: 'SENSOR_STATUS_TABLE_NAME',
        resource: 'SensorStatusTable',
        value: 'Ref',
        grants: [{ sid: 'WriteSensorStatus', actions: ['dynamodb:UpdateItem'] }],
      },
    },
    cost: { line: "Traffic controllers' console" },
  },
} as const satisfies Record<string, OutputDeclaration>;

export type OutputName = keyof typeof PROCESSOR_OUTPUTS;

type Outputs = typeof PROCESSOR_OUTPUTS;
type BindingsOf<O extends OutputName> = Outputs[O]['bindings'];
type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type AllBindings = Intersection<{ [O in OutputName]: BindingsOf<O> }[OutputName]>;

/** The resources the processor reads and writes: every output's bindings, in the order the template sets them. */
export const PROCESSOR_RESOURCES = Object.assign({}, ...Object.values(PROCESSOR_OUTPUTS).map((o) => o.bindings)) as {
  readonly [K in keyof AllBindings]: AllBindings[K];
};

/** The logical ID of every resource an output creates. */
type OwnId = {
  [O in OutputName]: { [B in keyof BindingsOf<O>]: BindingsOf<O>[B] extends { creates: object; resource: infer R extends string } ? R : never }[keyof BindingsOf<O>];
}[OutputName];

/** The logical IDs of the resources outputs create and of their policies (`<id>`, `<id>Policy`), for the registry (template/names.ts). */
export const OWN_RESOURCE_IDS = Object.values(PROCESSOR_OUTPUTS).flatMap((o) =>
  Object.values(o.bindings as Record<string, OutputBinding>).flatMap((b) => (b.creates ? [b.resource, `${b.resource}Policy`] : [])),
) as (OwnId | `${OwnId}Policy`)[];
